import { Game } from "../../src/entities";
import type { TestApp } from "./app";
import { bearer, json } from "./users";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function demoGame(t: TestApp, slug: "demo-arcade" | "whack-arena-deluxe") {
  const game = await t.app.dataSource.getRepository(Game).findOneByOrFail({ slug });
  return t.app.services.games.get(game.id);
}

export async function startSession(t: TestApp, accessToken: string, gameId: string) {
  const res = await t.fetch("/api/play/start", json({ gameId }, bearer(accessToken)));
  return { status: res.status, body: await res.json() };
}

export const heartbeat = (t: TestApp, sessionToken: string) =>
  t.fetch("/api/play/heartbeat", { method: "POST", headers: bearer(sessionToken) });
export const stop = (t: TestApp, sessionToken: string) =>
  t.fetch("/api/play/stop", { method: "POST", headers: bearer(sessionToken) });
