import type { Logger } from "pino";
import { AppError } from "./errors";

export interface Notification {
  channel: "email" | "phone";
  to: string;
  subject: string;
  text: string;
}

/** Delivers messages to users (verification codes today). */
export interface Notifier {
  send(notification: Notification): Promise<void>;
}

/** Embedded mode: the message goes to the log, where a developer reads the code. */
export class LogNotifier implements Notifier {
  constructor(private readonly logger: Logger) {}

  async send(n: Notification): Promise<void> {
    this.logger.info({ notification: n }, `notification to ${n.channel} ${n.to}`);
  }
}

/**
 * Production: POSTs the message as JSON to NOTIFIER_WEBHOOK_URL (an email/SMS
 * gateway of your choice), with a bearer token when NOTIFIER_WEBHOOK_TOKEN is set.
 */
export class WebhookNotifier implements Notifier {
  constructor(
    private readonly url: string,
    private readonly token?: string,
    private readonly timeoutMs = 5000,
  ) {}

  async send(n: Notification): Promise<void> {
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
        },
        body: JSON.stringify(n),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new AppError(
        503,
        "NOTIFIER_UNAVAILABLE",
        "The message could not be sent; try again later",
        undefined,
        undefined,
        {
          cause: err,
        },
      );
    }
    if (!res.ok)
      throw new AppError(503, "NOTIFIER_UNAVAILABLE", `The message could not be sent (gateway ${res.status})`);
  }
}
