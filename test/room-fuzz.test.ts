import assert from "node:assert/strict";
import { matchMaker } from "@colyseus/core";
import { encode } from "@colyseus/schema";
import { pack } from "msgpackr";
import type { Room } from "@colyseus/sdk";
import { testApp, type TestApp } from "./helpers/app";
import { demoGame, sleep, startSession } from "./helpers/play";
import { chatter, collect, freshBucket, leaveAll, liveCall, nextMessage, sdkFor } from "./helpers/video";
import { bearer, json, register, remember } from "./helpers/users";
import { prng } from "./helpers/prng";

/**
 * Random room messages against every room type: string types (up to 60 KB),
 * numeric types, random msgpack payloads, `sendBytes` frames and raw binary
 * WebSocket frames on the room's own socket. The process must stay up, the
 * room must keep serving a bystander, and the fuzzer must get `error`
 * replies. Reproduce a failure with FUZZ_SEED=<the printed seed>.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const SENDS = 1600;
const BYTE_FRAMES = 200;
const RAW_FRAMES = 200;
/** The WebSocket transport's maxPayload is 64 KB: frames stay under it (bigger ones are the transport's business). */
const MAX_FRAME = 60 * 1024;

type Rng = () => number;
const int = (rng: Rng, max: number) => Math.floor(rng() * max);
const pick = <T>(rng: Rng, items: readonly T[]) => items[int(rng, items.length)];
const bytes = (rng: Rng, n: number) => Uint8Array.from({ length: n }, () => int(rng, 256));
const text = (rng: Rng, n: number) =>
  Array.from({ length: n }, () => String.fromCharCode(pick(rng, [int(rng, 128), int(rng, 0xd7ff), 0x1f600]))).join("");

function randomType(rng: Rng, known: readonly string[]): string | number {
  switch (int(rng, 6)) {
    case 0:
    case 1:
      return pick(rng, known);
    case 2:
      return text(rng, int(rng, 20));
    case 3:
      return "T".repeat(int(rng, MAX_FRAME / 2)); // very long types
    case 4:
      return pick(rng, [0, -1, 1.5, 2 ** 31, -(2 ** 53), int(rng, 1000)]);
    default:
      return "";
  }
}

function randomValue(rng: Rng, depth = 0): unknown {
  switch (int(rng, depth > 3 ? 7 : 10)) {
    case 0:
      return undefined;
    case 1:
      return null;
    case 2:
      return pick(rng, [0, -0, 1, -1, 1e308, -1e-308, NaN, Infinity, 2 ** 53, int(rng, 1e9)]);
    case 3:
      return rng() < 0.5;
    case 4:
      return text(rng, int(rng, 40));
    case 5:
      return "x".repeat(int(rng, 8 * 1024));
    case 6:
      return bytes(rng, int(rng, 64));
    case 7:
      return Array.from({ length: int(rng, 6) }, () => randomValue(rng, depth + 1));
    case 8:
      return Array.from({ length: int(rng, 2000) }, () => int(rng, 10)); // a large array
    default:
      return Object.fromEntries(
        Array.from({ length: int(rng, 6) }, () => [
          pick(rng, [
            "text",
            "sdp",
            "candidate",
            "choice",
            "emoji",
            "userId",
            "id",
            "minutes",
            "filter",
            "metadata",
            "__proto__",
            text(rng, 5),
          ]),
          randomValue(rng, depth + 1),
        ]),
      );
  }
}

/** Protocol.ROOM_DATA: what `room.send` writes. */
const ROOM_DATA = 13;

/** A ROOM_DATA frame built by hand: the SDK's 8 KB send buffer cannot hold very long types. */
function dataFrame(type: string, payload: unknown): Uint8Array {
  const head = new Uint8Array(type.length * 3 + 16);
  head[0] = ROOM_DATA;
  const it = { offset: 1 };
  encode.string(head as Buffer, type, it);
  return Buffer.concat([head.subarray(0, it.offset), payload === undefined ? new Uint8Array() : pack(payload)]);
}

/** The SDK connection's socket (`ws` on Node). */
interface RawSocket {
  send(data: Uint8Array): void;
  readyState: number;
  OPEN: number;
}

interface FuzzTarget {
  name: string;
  fuzzer: Room;
  /** Message types the room knows, so payload validation is exercised too. */
  known: readonly string[];
  /** Proves the room still serves others after the fuzz. */
  bystanderCheck: () => Promise<void>;
  cleanup: () => Promise<void>;
}

async function fuzz(t: TestApp, target: FuzzTarget) {
  const rng = prng(SEED ^ (target.name.length * 7919));
  const { fuzzer } = target;
  // The per-connection ceiling (which closes a flooding connection with 4002, by design and
  // tested in room-limits) is lifted for the fuzzer's room, so every message reaches the handlers.
  const room = matchMaker.getLocalRoomById(fuzzer.roomId);
  if (room) room.maxMessagesPerSecond = Infinity;
  const errors = collect<{ code: string }>(fuzzer, "error");
  fuzzer.onMessage("*", () => {});
  let closed: number | undefined;
  fuzzer.onLeave((code: number) => (closed = code));

  const ws = (fuzzer.connection.transport as unknown as { ws: RawSocket }).ws;
  let sent = 0;
  for (let i = 0; i < SENDS && fuzzer.connection.isOpen; i++, sent++) {
    const type = randomType(rng, target.known);
    let payload = randomValue(rng);
    if (payload !== undefined && pack(payload).length > MAX_FRAME / 2) payload = undefined;
    // Long types by hand: the SDK reserves at most 255 header bytes in front of the msgpack payload.
    if (typeof type === "string" && type.length > 80) ws.send(dataFrame(type, rng() < 0.5 ? undefined : payload));
    else fuzzer.send(type, payload);
    if (i % 100 === 99) await sleep(5); // let the replies flow
  }
  for (let i = 0; i < BYTE_FRAMES && fuzzer.connection.isOpen; i++, sent++) {
    fuzzer.sendBytes(randomType(rng, target.known), bytes(rng, int(rng, 2048)));
  }
  // Every message above gets a reply (an error, or the answer of a valid message): wait for them.
  const repliesBefore = () => errors.length;
  for (let last = -1; last !== repliesBefore();) {
    last = repliesBefore();
    await sleep(300);
  }
  // 4000: the room itself ended normally (a call's timers ran out); anything else means the fuzzer was dropped.
  assert.ok(
    closed === undefined || closed === 4000,
    `${target.name}: the fuzzer was dropped (close ${closed}) [FUZZ_SEED=${SEED}]`,
  );
  assert.ok(sent >= 500, `${target.name}: only ${sent} messages sent before the room ended [FUZZ_SEED=${SEED}]`);
  assert.ok(
    errors.length >= sent / 2,
    `${target.name}: ${errors.length} error replies to ${sent} messages [FUZZ_SEED=${SEED}]`,
  );
  const codes = new Set(errors.map((e) => e.code));
  assert.ok(!codes.has("INTERNAL"), `${target.name}: INTERNAL error replies [FUZZ_SEED=${SEED}]`);

  // Raw binary frames with random bytes on the room's socket (the first byte picks a protocol code).
  for (let i = 0; i < RAW_FRAMES && ws.readyState === ws.OPEN; i++) {
    const frame = bytes(rng, 1 + int(rng, 512));
    if (rng() < 0.5) frame[0] = pick(rng, [13, 14, 15, 16, 17, 9, 10, 11, 12, 255]);
    ws.send(frame);
  }
  await sleep(200);

  assert.equal((await t.fetch("/health")).status, 200, `${target.name}: the server answers [FUZZ_SEED=${SEED}]`);
  await target.bystanderCheck();
}

describe(`room fuzzing (FUZZ_SEED=${SEED})`, function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async function () {
    this.timeout(120_000);
    t = await testApp();
  });

  const run = async (make: () => Promise<FuzzTarget>) => {
    const target = await make();
    try {
      await fuzz(t, target);
    } finally {
      await target.cleanup();
    }
  };

  it("lobby", () =>
    run(async () => {
      const [fuzzer, bystander] = [await t.sdk().joinOrCreate("lobby"), await t.sdk().joinOrCreate("lobby")];
      bystander.onMessage("+", () => {});
      bystander.onMessage("-", () => {});
      await nextMessage(bystander, "rooms");
      return {
        name: "lobby",
        fuzzer,
        known: ["filter"],
        bystanderCheck: async () => {
          const rooms = nextMessage(bystander, "rooms");
          bystander.send("filter", { name: "stream" });
          await rooms;
        },
        cleanup: () => leaveAll(fuzzer, bystander),
      };
    }));

  it("play_session", () =>
    run(async () => {
      // One player per room (maxClients 1): the HTTP door is the bystander.
      const player = await register(t);
      const game = await demoGame(t, "demo-arcade");
      const { body } = await startSession(t, player.accessToken, game.id);
      remember(body.sessionToken);
      const fuzzer = await sdkFor(t, player).joinById(body.roomId);
      fuzzer.onMessage("session", (m: { sessionToken: string }) => remember(m.sessionToken));
      return {
        name: "play_session",
        fuzzer,
        known: ["heartbeat"], // a valid `stop` would end the session, and the room with it
        bystanderCheck: async () => {
          const res = await t.fetch("/api/play/heartbeat", { method: "POST", headers: bearer(body.sessionToken) });
          // The fuzz may have sent a valid `stop`: the room answers either way.
          assert.ok([200, 401].includes(res.status), `play_session: heartbeat answered ${res.status}`);
          if (res.status === 200) remember(((await res.json()) as { sessionToken: string }).sessionToken);
        },
        cleanup: () => leaveAll(fuzzer),
      };
    }));

  it("match_queue", () =>
    run(async () => {
      const bucket = freshBucket();
      const [a, b, c] = await Promise.all(["Fuzz", "Waiting", "Third"].map((n) => chatter(t, n, 2)));
      const fuzzer = await sdkFor(t, a).joinOrCreate("match_queue", bucket);
      return {
        name: "match_queue",
        fuzzer,
        known: ["confirm", "leave"],
        bystanderCheck: async () => {
          await leaveAll(fuzzer);
          const bystander = await sdkFor(t, b).joinOrCreate("match_queue", bucket);
          const matched = nextMessage(bystander, "matched");
          const third = await sdkFor(t, c).joinOrCreate("match_queue", bucket);
          third.onMessage("matched", () => {});
          await matched;
          await leaveAll(bystander, third);
        },
        cleanup: () => leaveAll(fuzzer),
      };
    }));

  it("video_call", () =>
    run(async () => {
      const [a, b] = await Promise.all([chatter(t, "Fuzz A"), chatter(t, "Peer B")]);
      const { ra, rb } = await liveCall(t, a, b);
      // The call lives 3 s, then 2 s of choice (test timings): the room's own lifecycle must reach the peer.
      const ended = nextMessage(rb, "session:end", 15_000);
      const outcome = Promise.race([
        nextMessage(rb, "match:non_mutual", 15_000),
        nextMessage(rb, "match:mutual", 15_000),
      ]);
      rb.onMessage("*", () => {});
      return {
        name: "video_call",
        fuzzer: ra,
        known: ["offer", "answer", "candidate", "chat", "reaction", "choice", "end"],
        bystanderCheck: async () => {
          await ended;
          await outcome;
        },
        cleanup: () => leaveAll(ra, rb),
      };
    }));

  it("match_chat", () =>
    run(async () => {
      const [a, b] = await Promise.all([chatter(t, "Fuzz A"), chatter(t, "Chat B")]);
      const { ra, rb, callId } = await liveCall(t, a, b);
      for (const r of [ra, rb]) r.onMessage("*", () => {});
      const mutual = nextMessage<{ matchId: string }>(ra, "match:mutual");
      ra.send("end");
      await nextMessage(rb, "session:end");
      for (const who of [a, b]) {
        await t.fetch(`/api/sessions/${callId}/choice`, json({ choice: "MATCH" }, bearer(who.accessToken)));
      }
      const { matchId } = await mutual;
      await leaveAll(ra, rb);
      const fuzzer = await sdkFor(t, a).joinOrCreate("match_chat", { matchId });
      const bystander = await sdkFor(t, b).joinOrCreate("match_chat", { matchId });
      bystander.onMessage("*", () => {});
      return {
        name: "match_chat",
        fuzzer,
        known: ["message"],
        bystanderCheck: async () => {
          const echoed = nextMessage<{ text: string }>(bystander, "message");
          bystander.send("message", { text: "still here" });
          assert.equal((await echoed).text, "still here");
        },
        cleanup: () => leaveAll(fuzzer, bystander),
      };
    }));

  it("stream", () =>
    run(async () => {
      const [owner, a, b] = await Promise.all([register(t), register(t), register(t)]);
      const res = await t.fetch("/api/streams", json({ title: "Fuzz night" }, bearer(owner.accessToken)));
      assert.equal(res.status, 201);
      const { id: streamId } = (await res.json()) as { id: string };
      const fuzzer = await sdkFor(t, a).joinOrCreate("stream", { streamId });
      const bystander = await sdkFor(t, b).joinOrCreate("stream", { streamId });
      bystander.onMessage("*", () => {});
      return {
        name: "stream",
        fuzzer,
        known: ["chat", "mute", "delete"],
        bystanderCheck: async () => {
          const echoed = nextMessage<{ text: string }>(bystander, "chatMessage");
          bystander.send("chat", { text: "still here" });
          assert.equal((await echoed).text, "still here");
        },
        cleanup: async () => {
          await leaveAll(fuzzer, bystander);
          await t.fetch(`/api/streams/${streamId}`, { method: "DELETE", headers: bearer(owner.accessToken) });
        },
      };
    }));
});
