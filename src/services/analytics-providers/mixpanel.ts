import { createHash } from "node:crypto";
import { type AnalyticsProvider, classifyStatus, type OutboxEvent, post, ProviderError } from "./types";

/** Mixpanel's documented `/import` limit per request. */
export const MIXPANEL_MAX_BATCH = 2000;

/** `$insert_id` must be ≤ 36 characters of letters, digits and `-`: other ids are hashed (stably). */
export function mixpanelInsertId(insertId: string): string {
  return /^[A-Za-z0-9-]{1,36}$/.test(insertId)
    ? insertId
    : createHash("sha256").update(insertId).digest("hex").slice(0, 32);
}

/**
 * Mixpanel `/import?strict=1`: batches of ≤ 2,000, `$insert_id` for dedup (a resend after a crash
 * is harmless). Authenticated with the project token as the basic-auth user (empty password),
 * which `/import` accepts besides service accounts; so MIXPANEL_TOKEN is the only secret needed.
 */
export class MixpanelProvider implements AnalyticsProvider {
  readonly name = "mixpanel";
  readonly maxBatch = MIXPANEL_MAX_BATCH;

  constructor(
    private readonly token: string,
    private readonly apiUrl = "https://api.mixpanel.com",
  ) {}

  accepts() {
    return true;
  }

  async send(events: OutboxEvent[]): Promise<void> {
    const body = events.map((e) => ({
      event: e.name,
      properties: {
        ...e.properties,
        time: e.occurredAt.getTime(),
        // Mixpanel's documented value for an event without a user.
        distinct_id: e.distinctId ?? "",
        $insert_id: mixpanelInsertId(e.insertId),
      },
    }));
    const res = await post(this.name, `${this.apiUrl.replace(/\/$/, "")}/import?strict=1`, {
      headers: {
        "Content-Type": "application/json",
        Authorization: `Basic ${Buffer.from(`${this.token}:`).toString("base64")}`,
      },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (res.ok) return;
    const error = classifyStatus(this.name, res.status, text);
    // A strict 400 is a partial success: the valid events were imported, the others never will be.
    if (res.status === 400) {
      const imported = importedCount(text);
      if (imported > 0) throw new ProviderError(error.message, true, imported);
    }
    throw error;
  }
}

/** `num_records_imported` of a strict response, 0 when absent or not JSON. */
function importedCount(text: string): number {
  try {
    const n = Number((JSON.parse(text) as { num_records_imported?: unknown }).num_records_imported);
    return Number.isInteger(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}
