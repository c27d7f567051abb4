import type { Logger } from "pino";
import { Counter } from "prom-client";
import { registry } from "../metrics";

const announcements = new Counter({
  name: "hive_announcements_total",
  help: "Call starts announced to the AI moderation provider, by outcome (sent, failed, skipped)",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

const TIMEOUT_MS = 2000;

export interface CallStart {
  callId: string;
  userIds: string[];
  startedAt: Date;
  /** The call's Agora channel, when calls run on Agora: what the provider watches. */
  channel?: string;
}

/**
 * Tells the AI moderation provider that a call started, so it watches the
 * streams and posts its verdicts to /api/webhooks/hive. Fire-and-forget: a
 * slow or failing provider must never delay or break a call.
 */
export class HiveClient {
  constructor(
    private readonly apiUrl: string | undefined,
    private readonly apiKey: string | undefined,
    private readonly logger: Logger,
  ) {}

  /** Returns at once; never throws or rejects. Does nothing when HIVE_API_URL is unset. */
  announceCallStart(call: CallStart): void {
    if (!this.apiUrl) {
      announcements.inc({ outcome: "skipped" });
      return;
    }
    void this.send(this.apiUrl, call);
  }

  private async send(url: string, call: CallStart): Promise<void> {
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          ...(this.apiKey && { Authorization: `Bearer ${this.apiKey}` }),
        },
        body: JSON.stringify({
          callId: call.callId,
          userIds: call.userIds,
          startedAt: call.startedAt.toISOString(),
          ...(call.channel && { channel: call.channel }),
        }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await res.body?.cancel();
      if (!res.ok) {
        announcements.inc({ outcome: "failed" });
        this.logger.warn({ callId: call.callId, status: res.status }, "hive call announcement refused");
        return;
      }
      announcements.inc({ outcome: "sent" });
    } catch (err) {
      announcements.inc({ outcome: "failed" });
      // Name and message only: the error object could carry the request and its Authorization header.
      const { name, message } = err instanceof Error ? err : { name: "Error", message: String(err) };
      this.logger.warn({ callId: call.callId, error: { name, message } }, "hive call announcement failed");
    }
  }
}
