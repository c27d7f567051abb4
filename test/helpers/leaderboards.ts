import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { TestApp } from "./app";
import { bearer, json } from "./users";

/** A new board through the admin route (a player-writable `best` board unless overridden). */
export async function createBoard(t: TestApp, adminToken: string, overrides: Record<string, unknown> = {}) {
  const body = {
    id: `lb-${randomBytes(4).toString("hex")}`,
    title: "Test board",
    sortOrder: "desc",
    operator: "best",
    resetSchedule: null,
    authoritative: false,
    ...overrides,
  };
  const res = await t.fetch("/api/leaderboards", json(body, bearer(adminToken)));
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as { id: string; periodStart: string | null; periodEnd: string | null };
}
