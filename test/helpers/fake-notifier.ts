import http from "node:http";
import type { Notification } from "../../src/services/notifier";
import { listenOnLoopback } from "./listen";

export interface FakeNotifier {
  url: string;
  /** Every message the server asked the gateway to deliver, oldest first. */
  sent: Notification[];
  close(): Promise<void>;
}

/** A local email/SMS gateway for NOTIFIER_WEBHOOK_URL: records what it is asked to send. */
export async function startFakeNotifier(): Promise<FakeNotifier> {
  const fake: FakeNotifier = { url: "", sent: [], close: async () => {} };
  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      fake.sent.push(JSON.parse(raw));
      res.statusCode = 204;
      res.end();
    });
  });
  const { url, close } = await listenOnLoopback(server);
  return Object.assign(fake, { url: `${url}/send`, close });
}
