import type { Room } from "@colyseus/sdk";
import type { TestApp } from "./app";
import { type Account, register } from "./users";
import { fund } from "./wallet";

export interface Matched {
  callId: string;
  seat: any;
  peer: { displayName: string };
  role: "offerer" | "answerer";
}

/** A fresh bucket per test, so queues left by other tests never interfere. */
let bucketCounter = 0;
export function freshBucket(region = "eu") {
  const n = bucketCounter++;
  return { region, language: String.fromCharCode(97 + (((n / 26) | 0) % 26), 97 + (n % 26)) };
}

/** Resolves with the next message of `type` (registered before anything can arrive). */
export function nextMessage<T = any>(room: Room, type: string, timeoutMs = 8000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeoutMs} ms`)), timeoutMs);
    const off = room.onMessage(type, (message: T) => {
      clearTimeout(timer);
      off?.();
      resolve(message);
    });
  });
}

/** Collects every message of `type` a room receives. */
export function collect<T = any>(room: Room, type: string): T[] {
  const seen: T[] = [];
  room.onMessage(type, (m: T) => seen.push(m));
  return seen;
}

export async function chatter(t: TestApp, displayName: string, tokens = 5): Promise<Account> {
  const account = await register(t, { displayName });
  if (tokens) await fund(t, account.user.id, tokens);
  return account;
}

export function sdkFor(t: TestApp, account: Account) {
  const client = t.sdk();
  client.auth.token = account.accessToken;
  return client;
}

/** Joins a queue bucket; `matched` resolves with the pairing (listener set before the join completes). */
export async function enqueue(t: TestApp, account: Account, bucket: { region: string; language: string }) {
  const room = await sdkFor(t, account).joinOrCreate<any>("match_queue", bucket);
  const matched = nextMessage<Matched>(room, "matched").then((m) => (room.leave(), m));
  room.onMessage("moderation:action", () => {});
  return { room, matched };
}

/** Two users matched and both in their call room, live. */
export async function liveCall(t: TestApp, a: Account, b: Account, bucket = freshBucket()) {
  const qa = await enqueue(t, a, bucket);
  const qb = await enqueue(t, b, bucket);
  const [ma, mb] = await Promise.all([qa.matched, qb.matched]);
  const ra = await sdkFor(t, a).consumeSeatReservation<any>(ma.seat);
  const startA = nextMessage(ra, "session:start");
  const rb = await sdkFor(t, b).consumeSeatReservation<any>(mb.seat);
  const startB = nextMessage(rb, "session:start");
  const [sa, sb] = await Promise.all([startA, startB]);
  return { callId: ma.callId, ma, mb, ra, rb, start: sa as { startAt: number; endAt: number }, startB: sb };
}

export async function leaveAll(...rooms: Array<Room | undefined>) {
  await Promise.all(rooms.map((r) => (r?.connection.isOpen ? r.leave().catch(() => {}) : undefined)));
}

/** Polls until `predicate` holds (room state arrives with the next patch, 50 ms apart). */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 3000) {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Ends a live call from `rb`'s side, then both choose MATCH; resolves with `ra`'s `match:mutual`. */
export async function endAndMatch(ra: Room, rb: Room): Promise<{ matchId: string }> {
  const ended = nextMessage(ra, "session:end");
  rb.send("end");
  await ended;
  await waitFor(() => ra.state.phase === "choosing", "phase choosing");
  const mutual = nextMessage<{ matchId: string }>(ra, "match:mutual");
  ra.send("choice", { choice: "MATCH" });
  rb.send("choice", { choice: "MATCH" });
  return mutual;
}
