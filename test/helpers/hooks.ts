import { stopTestApp } from "./app";

/** Mocha root hooks: the shared server is stopped once, after every suite. */
export const mochaHooks = {
  async afterAll() {
    await stopTestApp();
  },
};
