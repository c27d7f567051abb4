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

/**
 * Development only (production refuses to start without NOTIFIER_WEBHOOK_URL):
 * nothing is delivered. The message, one-time codes included, is logged at
 * debug level only and marked as a development-only log; at info level the log
 * says that a message was not delivered, without its text.
 */
export class LogNotifier implements Notifier {
  constructor(private readonly logger: Logger) {}

  async send(n: Notification): Promise<void> {
    if (this.logger.isLevelEnabled("debug")) {
      this.logger.debug(
        { developmentOnly: true, notification: n },
        `DEVELOPMENT ONLY, not delivered: ${n.channel} message to ${n.to} (set NOTIFIER_WEBHOOK_URL to send it)`,
      );
    } else {
      this.logger.info(
        { channel: n.channel },
        "message not delivered: NOTIFIER_WEBHOOK_URL is unset (LOG_LEVEL=debug shows it in development)",
      );
    }
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
