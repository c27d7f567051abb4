import { createHash } from "node:crypto";
import { GA4_MAX_PARAMS, GA4_MAX_VALUE_LENGTH, ga4Name } from "./ga4-names";
import { type AnalyticsProvider, classifyStatus, type OutboxEvent, post } from "./types";

/** The Measurement Protocol's limit of events per request. */
export const GA4_MAX_BATCH = 25;

function params(e: OutboxEvent): Record<string, string | number> {
  // GA4 has no dedup id of its own: the insert id goes along as a parameter for reconciliation.
  const out: Record<string, string | number> = { insert_id: e.insertId.slice(0, GA4_MAX_VALUE_LENGTH) };
  for (const [k, v] of Object.entries(e.properties)) {
    if (Object.keys(out).length >= GA4_MAX_PARAMS) break;
    const key = ga4Name(k, false);
    if (typeof v === "number" && Number.isFinite(v)) out[key] = v;
    else if (typeof v === "string" || typeof v === "boolean") out[key] = String(v).slice(0, GA4_MAX_VALUE_LENGTH);
  }
  return out;
}

/**
 * GA4 Measurement Protocol `POST /mp/collect`: ≤ 25 events a request, all of one client (the
 * sender batches per user). client_id and user_id are the pseudonymous id; anonymous events
 * share one client id derived from their insert id. Names and parameters are mapped to GA4's rules.
 * Note: the live endpoint answers 2xx even to invalid payloads (only `/debug/mp/collect` says why).
 */
export class Ga4Provider implements AnalyticsProvider {
  readonly name = "ga4";
  readonly maxBatch = GA4_MAX_BATCH;
  readonly batchPerUser = true;

  constructor(
    private readonly measurementId: string,
    private readonly apiSecret: string,
    private readonly apiUrl = "https://www.google-analytics.com",
  ) {}

  accepts() {
    return true;
  }

  async send(events: OutboxEvent[]): Promise<void> {
    if (events.length === 0) return;
    const distinctId = events[0].distinctId;
    const clientId = distinctId ?? createHash("sha256").update(events[0].insertId).digest("hex").slice(0, 32);
    const body = {
      client_id: clientId,
      ...(distinctId ? { user_id: distinctId } : {}),
      events: events.map((e) => ({
        name: ga4Name(e.name, true),
        timestamp_micros: e.occurredAt.getTime() * 1000,
        params: params(e),
      })),
    };
    const query = new URLSearchParams({ measurement_id: this.measurementId, api_secret: this.apiSecret });
    const res = await post(this.name, `${this.apiUrl.replace(/\/$/, "")}/mp/collect?${query}`, {
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw classifyStatus(this.name, res.status, text);
  }
}
