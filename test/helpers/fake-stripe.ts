import { randomBytes } from "node:crypto";
import http from "node:http";
import { listenOnLoopback } from "./listen";

export interface FakeStripe {
  url: string;
  /** Every Checkout Session creation request, its form body decoded. */
  created: Array<Record<string, string>>;
  /** When set, the next requests fail with this HTTP status. */
  failWith: number | undefined;
  /** When set, runs (and is awaited) after a Checkout Session is created, before Stripe answers. */
  beforeAnswer: ((session: { id: string }) => Promise<void>) | undefined;
  close(): Promise<void>;
}

/**
 * A local stand-in for the Stripe API's Checkout endpoint: the official SDK
 * talks to it over HTTP through STRIPE_API_URL, exactly as it would to Stripe.
 */
export async function startFakeStripe(): Promise<FakeStripe> {
  const fake: FakeStripe = {
    url: "",
    created: [],
    failWith: undefined,
    beforeAnswer: undefined,
    close: async () => {},
  };
  /** Like Stripe: a key replays its first response; reused with other parameters, it is an idempotency_error. */
  const byIdempotencyKey = new Map<string, { raw: string; response: string }>();
  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      res.setHeader("Content-Type", "application/json");
      if (!req.headers.authorization?.startsWith("Bearer sk_test_")) {
        res.statusCode = 401;
        return res.end(JSON.stringify({ error: { type: "invalid_request_error", message: "Invalid API Key" } }));
      }
      if (fake.failWith) {
        res.statusCode = fake.failWith;
        return res.end(JSON.stringify({ error: { type: "api_error", message: "fake outage" } }));
      }
      if (req.method === "POST" && req.url === "/v1/checkout/sessions") {
        const key = req.headers["idempotency-key"] as string | undefined;
        const earlier = key ? byIdempotencyKey.get(key) : undefined;
        if (earlier && earlier.raw !== raw) {
          res.statusCode = 400;
          const message =
            "Keys for idempotent requests can only be used with the same parameters they were first used with.";
          return res.end(JSON.stringify({ error: { type: "idempotency_error", message } }));
        }
        if (earlier) return res.end(earlier.response);
        const form = Object.fromEntries(new URLSearchParams(raw));
        fake.created.push(form);
        const id = `cs_test_${randomBytes(12).toString("hex")}`;
        const response = JSON.stringify({
          id,
          object: "checkout.session",
          mode: form.mode,
          url: `https://checkout.stripe.test/c/pay/${id}`,
          payment_status: "unpaid",
          status: "open",
          client_reference_id: form.client_reference_id,
          metadata: { pack: form["metadata[pack]"], userId: form["metadata[userId]"] },
          amount_total: Number(form["line_items[0][price_data][unit_amount]"]),
          currency: form["line_items[0][price_data][currency]"],
        });
        if (key) byIdempotencyKey.set(key, { raw, response });
        if (!fake.beforeAnswer) return res.end(response);
        fake.beforeAnswer({ id }).then(
          () => res.end(response),
          () => res.end(response),
        );
        return;
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ error: { type: "invalid_request_error", message: `no route ${req.url}` } }));
    });
  });
  Object.assign(fake, await listenOnLoopback(server));
  return fake;
}
