import assert from "node:assert/strict";
import type { Room } from "@colyseus/sdk";
import { Game } from "../../src/entities";
import type { TestApp } from "./app";
import { heartbeat, startSession, stop } from "./play";
import { type Account, remember } from "./users";
import { collect, nextMessage, sdkFor } from "./video";

export interface PlayedRound {
  roundId: string;
  /** The `round:end` message: `{roundId, seed, scores, reason}`. */
  end: {
    roundId: string;
    reason: string;
    scores: Array<{ userId: string; score: number; hits: number; flagged: boolean }>;
  };
  /** Still joined: notices pushed after the round (badge:awarded) arrive here. Leave it when done. */
  room: Room<any>;
  /** Every `badge:awarded` the room received since the join (one may come before `round:end`). */
  badges: Array<{ badgeId: string; name: string }>;
  /** Leaves the room and stops the play session. */
  close(): Promise<void>;
}

/**
 * Plays one real solo round through the SDK as `account`: a play session of the `whack` game
 * kept alive by heartbeats, `ready`, and a human-paced whack (`reactionMs` after each mole shows,
 * above the reaction floor so the round is not flagged) on every mole; resolves at `round:end`.
 */
export async function playSoloRound(t: TestApp, account: Account, { reactionMs = 150 } = {}): Promise<PlayedRound> {
  const game = await t.app.dataSource.getRepository(Game).findOneByOrFail({ slug: "whack" });
  const started = await startSession(t, account.accessToken, game.id);
  assert.equal(started.status, 201, JSON.stringify(started.body));
  let sessionToken = remember(started.body.sessionToken as string);
  const beat = setInterval(async () => {
    const res = await heartbeat(t, sessionToken).catch(() => undefined);
    if (res?.ok) sessionToken = remember(((await res.json()) as { sessionToken: string }).sessionToken);
  }, 500);
  const room = await sdkFor(t, account).create<any>("whack", { mode: "solo", sessionToken });
  const badges = collect<{ badgeId: string; name: string }>(room, "badge:awarded");
  const close = async () => {
    clearInterval(beat);
    if (room.connection.isOpen) await room.leave().catch(() => {});
    await stop(t, sessionToken).catch(() => {});
  };
  try {
    const targeted = new Set<number>();
    room.onStateChange((state: any) => {
      [...(state.holes ?? [])].forEach((h: any, hole: number) => {
        if (!(h.moleId > 0) || targeted.has(h.moleId) || h.kind === "bomb") return;
        targeted.add(h.moleId);
        setTimeout(() => room.send("whack", { hole, moleId: h.moleId }), reactionMs);
      });
    });
    const ended = nextMessage<PlayedRound["end"]>(room, "round:end", 20_000);
    room.send("ready");
    const end = await ended;
    return { roundId: end.roundId, end, room, badges, close };
  } catch (err) {
    await close();
    throw err;
  }
}
