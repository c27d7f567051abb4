import http from "node:http";
import { startFakeAnalytics } from "../../test/helpers/fake-analytics";

/**
 * The four fake analytics providers in a process of their own (`npx tsx bench/lib/fake-analytics-server.ts
 * <port> <controlPort>`), so their CPU is not the recorder's. `GET /received` on the control port
 * answers, per provider, the events received and the distinct ids among them.
 */
async function main() {
  const [port, controlPort] = process.argv.slice(2).map(Number);
  const fake = await startFakeAnalytics(port);
  const distinct = new Map<string, { seen: number; ids: Set<string> }>();
  const control = http.createServer((req, res) => {
    if (req.url === "/reset") {
      for (const list of Object.values(fake.received)) list.length = 0;
      distinct.clear();
    }
    const out: Record<string, { events: number; distinct: number }> = {};
    for (const [provider, ids] of Object.entries(fake.received)) {
      const d = distinct.get(provider) ?? { seen: 0, ids: new Set<string>() };
      for (; d.seen < ids.length; d.seen++) d.ids.add(ids[d.seen]);
      distinct.set(provider, d);
      out[provider] = { events: ids.length, distinct: d.ids.size };
    }
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(out));
  });
  control.listen(controlPort, "127.0.0.1", () => console.log(JSON.stringify({ url: fake.url })));
}

void main();
