import { createHash } from "node:crypto";
import { type AnalyticsProvider, classifyStatus, type OutboxEvent, ProviderError } from "./types";

/** Events one flush sends (posthog-node's own default batch size). */
export const POSTHOG_MAX_BATCH = 100;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** PostHog dedups on the event uuid: an insert id that is not one becomes a stable name-based uuid. */
export function posthogUuid(insertId: string): string {
  if (UUID.test(insertId)) return insertId.toLowerCase();
  const h = createHash("sha256").update(insertId).digest("hex");
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * PostHog through posthog-node. A fresh client per batch with its own retries off: our outbox
 * owns retries and backoff, and the client never keeps a failed batch to resend on its own.
 * The fetch is wrapped to learn the batch's HTTP status (flush does not report it). GeoIP is off:
 * the request comes from this server, not from the player.
 */
export class PostHogProvider implements AnalyticsProvider {
  readonly name = "posthog";
  readonly maxBatch = POSTHOG_MAX_BATCH;

  constructor(
    private readonly apiKey: string,
    private readonly host = "https://us.i.posthog.com",
  ) {}

  accepts() {
    return true;
  }

  async send(events: OutboxEvent[]): Promise<void> {
    let outcome: ProviderError | "ok" | undefined;
    // Required on first send, not at start-up: most deployments never configure PostHog.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PostHog } = require("posthog-node") as typeof import("posthog-node");
    const client = new PostHog(this.apiKey, {
      host: this.host,
      flushAt: events.length + 1,
      flushInterval: 0,
      maxBatchSize: POSTHOG_MAX_BATCH,
      fetchRetryCount: 0,
      disableGeoip: true,
      disableCompression: true,
      fetch: async (url, options) => {
        try {
          const res = await fetch(url, { ...options, signal: AbortSignal.timeout(10_000) } as RequestInit);
          if (res.ok) outcome ??= "ok";
          else outcome = classifyStatus(this.name, res.status, await res.clone().text());
          return res;
        } catch (err) {
          outcome = new ProviderError(`${this.name} unreachable: ${(err as Error).message}`, false);
          throw err;
        }
      },
    });
    client.on("error", () => {}); // the outcome above says what happened
    for (const e of events) {
      client.capture({
        // Anonymous events get a per-event id (PostHog then treats them as anonymous persons).
        distinctId: e.distinctId ?? `anon-${posthogUuid(e.insertId)}`,
        event: e.name,
        properties: { ...e.properties, $process_person_profile: e.distinctId !== undefined },
        uuid: posthogUuid(e.insertId),
        timestamp: e.occurredAt,
      });
    }
    await client.flush().catch(() => undefined);
    if (outcome === undefined) throw new ProviderError(`${this.name}: the batch was not sent`, false);
    if (outcome !== "ok") throw outcome;
  }
}
