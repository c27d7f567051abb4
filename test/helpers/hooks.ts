import assert from "node:assert/strict";
import { peekTestApp, stopTestApp } from "./app";
import { handledSecrets } from "./users";

/** Mocha root hooks: the whole run's logs are audited for secrets, then the shared server stops. */
export const mochaHooks = {
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
