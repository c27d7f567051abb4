import http from "node:http";
import type { AddressInfo } from "node:net";
import { mixpanelInsertId } from "../../src/services/analytics-providers/mixpanel";
import { posthogUuid } from "../../src/services/analytics-providers/posthog";
import type { AnalyticsProviderName } from "../../src/services/analytics-providers/types";

/**
 * One local server for the four providers' ingestion endpoints, as the real ones take them:
 * PostHog `POST /batch/` ({api_key, batch}), Mixpanel `POST /import` (an array), Plausible
 * `POST /api/event` (one event), GA4 `POST /mp/collect` ({client_id, events}). It records each
 * event's dedup id as the provider sees it (see `sentId`) and answers `answer[provider]`.
 */
export interface FakeAnalytics {
  url: string;
  /** Every event received, by provider, as its dedup id (Plausible has none: the event name). */
  received: Record<AnalyticsProviderName, string[]>;
  /** Requests received, by provider (refused ones too). */
  requests: Record<AnalyticsProviderName, number>;
  /** The status each provider answers: 503 makes the senders retry later. */
  answer: Record<AnalyticsProviderName, number>;
  close(): Promise<void>;
}

const OK = { posthog: 200, mixpanel: 200, plausible: 202, ga4: 204 } as const;

/** The id a provider receives for an outbox insert id (PostHog and Mixpanel rewrite it, GA4 keeps it). */
export function sentId(provider: AnalyticsProviderName, insertId: string): string {
  if (provider === "posthog") return posthogUuid(insertId);
  if (provider === "mixpanel") return mixpanelInsertId(insertId);
  return insertId.slice(0, 100);
}

/** The provider's environment variables, all pointed at `url`. */
export function fakeAnalyticsEnv(url: string): Record<string, string> {
  return {
    POSTHOG_API_KEY: "phc_fake",
    POSTHOG_HOST: url,
    MIXPANEL_TOKEN: "mp-fake",
    MIXPANEL_API_URL: url,
    PLAUSIBLE_DOMAIN: "game.arcadia.test",
    PLAUSIBLE_API_URL: url,
    GA4_MEASUREMENT_ID: "G-FAKE123",
    GA4_API_SECRET: "ga4-fake",
    GA4_API_URL: url,
    ANALYTICS_ID_SECRET: "fake-analytics-id-secret-0123456789abcdef",
  };
}

export async function startFakeAnalytics(port = 0): Promise<FakeAnalytics> {
  const received: FakeAnalytics["received"] = { posthog: [], mixpanel: [], plausible: [], ga4: [] };
  const requests: FakeAnalytics["requests"] = { posthog: 0, mixpanel: 0, plausible: 0, ga4: 0 };
  const answer: FakeAnalytics["answer"] = { ...OK };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = new URL(req.url!, "http://fake").pathname;
    const provider: AnalyticsProviderName | undefined = path.startsWith("/batch")
      ? "posthog"
      : path === "/import"
        ? "mixpanel"
        : path === "/api/event"
          ? "plausible"
          : path === "/mp/collect"
            ? "ga4"
            : undefined;
    if (!provider || req.method !== "POST") return res.writeHead(404).end();
    requests[provider]++;
    let body: any;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return res.writeHead(400).end("not json");
    }
    const status = answer[provider];
    if (status < 300) received[provider].push(...idsOf(provider, body));
    res
      .writeHead(status, { "Content-Type": "application/json" })
      .end(provider === "mixpanel" ? JSON.stringify({ code: status, status: status < 300 ? "OK" : "down" }) : "{}");
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    requests,
    answer,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function idsOf(provider: AnalyticsProviderName, body: any): string[] {
  switch (provider) {
    case "posthog":
      return (body.batch as Array<{ uuid: string }>).map((e) => e.uuid);
    case "mixpanel":
      return (body as Array<{ properties: { $insert_id: string } }>).map((e) => e.properties.$insert_id);
    case "ga4":
      return (body.events as Array<{ params: { insert_id: string } }>).map((e) => e.params.insert_id);
    case "plausible":
      return [String(body.name)];
  }
}
