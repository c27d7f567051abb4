import { api, ApiError, idempotencyKey } from "../lib/api";
import { button, fill, guarded, h } from "../lib/dom";

interface Pack {
  id: string;
  name: string;
  tokens: number;
  priceCents: number;
  currency: string;
}

/** Balance, recent ledger entries, token packs (Stripe Checkout), and demo tokens outside production. */
export function walletScreen(root: HTMLElement) {
  const balance = h("strong", { id: "balance" }, "…");
  const history = h("ul", { class: "log", id: "history" });
  const packs = h("div", { class: "row", id: "packs" });
  const demoNote = h("span", { class: "muted" });

  const load = async () => {
    const [b, h2] = await Promise.all([
      api<{ balance: number }>("/api/tokens/balance"),
      api<{ entries: Array<{ delta: number; reason: string; createdAt: string }> }>("/api/payments/history?limit=10"),
    ]);
    balance.textContent = String(b.balance);
    fill(
      history,
      ...h2.entries.map((e) =>
        h("li", {}, `${e.delta > 0 ? "+" : ""}${e.delta} · ${e.reason} · ${new Date(e.createdAt).toLocaleString()}`),
      ),
    );
  };
  const buy = async (pack: Pack) => {
    const { checkoutUrl } = await api<{ checkoutUrl: string }>("/api/tokens/purchase", {
      body: { pack: pack.id },
      headers: idempotencyKey(),
    });
    location.assign(checkoutUrl); // Stripe Checkout; the webhook credits the pack
  };
  const demo = async () => {
    try {
      const { granted } = await api<{ granted: number }>("/api/dev/demo-tokens", { body: {} });
      demoNote.textContent = granted ? `+${granted} demo tokens` : "Your balance is already topped up";
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) demoNote.textContent = "Demo tokens are not available here";
      else throw err;
    }
    await load();
  };

  root.append(
    h(
      "section",
      {},
      h("h2", {}, "Wallet"),
      h("p", {}, "Balance: ", balance, " tokens"),
      h("h3", {}, "Recent"),
      history,
    ),
    h("section", {}, h("h2", {}, "Buy tokens"), packs, h("p", { class: "muted" }, "Payment through Stripe Checkout.")),
    h(
      "section",
      {},
      h("h2", {}, "Demo"),
      h("div", { class: "row" }, button("Get demo tokens", demo, { id: "demo-tokens" }), demoNote),
    ),
  );
  void guarded(async () => {
    const { packs: list } = await api<{ packs: Pack[] }>("/api/tokens/packs");
    fill(
      packs,
      ...list.map((p) =>
        button(`${p.name}: ${p.tokens} tokens · ${(p.priceCents / 100).toFixed(2)} ${p.currency.toUpperCase()}`, () =>
          buy(p),
        ),
      ),
    );
    await load();
  });
}
