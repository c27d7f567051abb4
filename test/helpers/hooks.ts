import assert from "node:assert/strict";
import { peekTestApp, stopTestApp } from "./app";
import { handledSecrets } from "./users";

/** Mocha root hooks: wallet invariants after every test; the run's logs audited for secrets; then the server stops. */
export const mochaHooks = {
  /** After every test: each balance equals the sum of its ledger entries and none is negative. */
  async afterEach() {
    const app = peekTestApp();
    if (!app?.app.dataSource.isInitialized) return;
    assert.deepEqual(await app.app.services.wallet.checkInvariants(), [], "wallet invariants");
  },

  async afterAll() {
    const app = peekTestApp();
    try {
      if (app) {
        const logs = app.logs.join("");
        const leaked = [...handledSecrets].filter((secret) => logs.includes(secret));
        assert.deepEqual(
          leaked.map((s) => `${s.slice(0, 6)}…`),
          [],
          "passwords or tokens found in the server logs",
        );
      }
    } finally {
      await stopTestApp();
    }
  },
};
