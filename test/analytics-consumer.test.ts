import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import http from "node:http";
import { AnalyticsService } from "../src/services/analytics";
import { registerAnalyticsConsumer } from "../src/services/analytics-consumer";
import { MixpanelProvider, mixpanelInsertId } from "../src/services/analytics-providers/mixpanel";
import { pseudonymousId } from "../src/services/analytics-pseudonym";
import { DomainLog } from "../src/services/domain-log";
import { testApp, type TestApp } from "./helpers/app";
import { listenOnLoopback } from "./helpers/listen";

const SECRET = "analytics-consumer-test-secret-0123456789";

/** Mixpanel's /import, recording every event it is sent. */
async function fakeMixpanel() {
  const events: Array<{ event: string; properties: Record<string, unknown> }> = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    events.push(...JSON.parse(Buffer.concat(chunks).toString()));
    res.writeHead(200, { "Content-Type": "application/json" }).end('{"code":200,"status":"OK"}');
  });
  const { url, close } = await listenOnLoopback(server);
  return { events, url, close };
}

describe("domain events to analytics", () => {
  let t: TestApp;
  let mixpanel: Awaited<ReturnType<typeof fakeMixpanel>>;
  before(async () => {
    t = await testApp();
    mixpanel = await fakeMixpanel();
  });
  after(() => mixpanel.close());

  it("turns each domain event into one analytics event, once, with the event id as the dedup id", async () => {
    // A log and a consumer of the test's own (another consumer name): the server's dispatcher
    // only takes deliveries of the consumers it registered, so it leaves these alone.
    const log = new DomainLog(t.app.dataSource);
    const analytics = new AnalyticsService(t.app.dataSource, [new MixpanelProvider("mp-token", mixpanel.url)], {
      idSecret: SECRET,
      maxRows: 10_000,
      retryBaseMs: 10,
    });
    registerAnalyticsConsumer(log, analytics, `analytics-test-${randomUUID()}`);
    const userId = randomUUID();
    const eventId = await t.app.dataSource.transaction((m) => log.record(m, "login", { userId }, { userId }));
    // A rolled-back change records nothing, so nothing reaches analytics either.
    await t.app.dataSource
      .transaction(async (m) => {
        await log.record(m, "login", { userId }, { userId });
        throw new Error("rolled back");
      })
      .catch(() => undefined);

    await log.dispatchOnce();
    await log.dispatchOnce(); // nothing left to deliver: no second outbox row
    await analytics.drain("mixpanel");
    await analytics.drain("mixpanel");

    const mine = mixpanel.events.filter((e) => e.properties.distinct_id === pseudonymousId(SECRET, userId));
    assert.equal(mine.length, 1, JSON.stringify(mixpanel.events));
    assert.equal(mine[0].event, "login");
    assert.equal(mine[0].properties.$insert_id, mixpanelInsertId(`domain-event:${eventId}`));
    assert.ok(!JSON.stringify(mine[0]).includes(userId), "the raw user id never leaves");
  });
});
