import { type AnalyticsProvider, classifyStatus, type OutboxEvent, post } from "./types";

/** Plausible's Events API takes a single event per call. */
export const PLAUSIBLE_MAX_BATCH = 1;

/** Plausible custom properties: scalar values only, at most 30. */
function props(properties: Record<string, unknown>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(properties)) {
    if (k === "url" || k === "referrer") continue;
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out[k] = v;
    if (Object.keys(out).length === 30) break;
  }
  return out;
}

/**
 * Plausible `POST /api/event`, one event per call. Plausible counts visitors by the client's
 * User-Agent and X-Forwarded-For, which it requires: they are forwarded from the original request,
 * and events without them (server-side events) are not sent to Plausible at all. No user id is sent.
 */
export class PlausibleProvider implements AnalyticsProvider {
  readonly name = "plausible";
  readonly maxBatch = PLAUSIBLE_MAX_BATCH;

  constructor(
    private readonly domain: string,
    private readonly apiUrl = "https://plausible.io",
  ) {}

  accepts(e: { client?: unknown }) {
    return e.client !== undefined;
  }

  async send(events: OutboxEvent[]): Promise<void> {
    for (const e of events) {
      if (!e.client) continue;
      const url = typeof e.properties.url === "string" ? e.properties.url : `app://${this.domain}/${e.name}`;
      const res = await post(this.name, `${this.apiUrl.replace(/\/$/, "")}/api/event`, {
        headers: {
          "Content-Type": "application/json",
          "User-Agent": e.client.userAgent,
          "X-Forwarded-For": e.client.ip,
        },
        body: JSON.stringify({
          name: e.name,
          url,
          domain: this.domain,
          ...(typeof e.properties.referrer === "string" ? { referrer: e.properties.referrer } : {}),
          props: props(e.properties),
        }),
      });
      const text = await res.text();
      if (!res.ok) throw classifyStatus(this.name, res.status, text);
    }
  }
}
