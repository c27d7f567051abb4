import assert from "node:assert/strict";
import type { Room } from "@colyseus/sdk";
import { testApp, type TestApp } from "./helpers/app";
import { sleep } from "./helpers/play";
import { TestClient } from "./helpers/sdk";
import { type Account, bearer, json } from "./helpers/users";
import { chatter, freshBucket } from "./helpers/video";

/** Every sample of every gauge in a /metrics text: series (name + labels) → value. */
export function gaugeSamples(text: string): Map<string, number> {
  const gauges = new Set<string>();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) gauge$/.exec(line);
    if (type) gauges.add(type[1]);
    if (line.startsWith("#") || !line.trim()) continue;
    const sample = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (sample && gauges.has(sample[1])) samples.set(sample[1] + (sample[2] ?? ""), Number(sample[3]));
  }
  return samples;
}

/** The gauges that count rooms, clients and waiting users: they return to where they were once everyone left. */
const ROOM_GAUGES =
  /^(colyseus_connected_clients|colyseus_rooms|stream_viewers|streams_live|match_queue_waiting|play_sessions_live|whack_rooms)\b/;

/** A client that hands out the room it is joining before the join completes, so a test can cut it short. */
class EagerClient extends TestClient {
  joining?: Room;
  protected createRoom<T>(roomName: string, rootSchema?: any) {
    const room = super.createRoom<T>(roomName, rootSchema);
    this.joining = room as Room;
    return room;
  }
}

describe("metrics gauges under join/leave churn", function () {
  let t: TestApp;
  before(async () => {
    t = await testApp();
  });

  const scrape = async () => gaugeSamples(await (await t.fetch("/metrics")).text());
  const roomGauges = (samples: Map<string, number>) =>
    new Map([...samples].filter(([series, value]) => ROOM_GAUGES.test(series) && value !== 0));

  /** Room gauges once they stop moving (rooms other suites left may still be disposing). */
  async function settled(): Promise<Map<string, number>> {
    let previous = roomGauges(await scrape());
    for (let i = 0; i < 40; i++) {
      await sleep(250);
      const current = roomGauges(await scrape());
      if (JSON.stringify([...current].sort()) === JSON.stringify([...previous].sort())) return current;
      previous = current;
    }
    return previous;
  }

  const clientFor = (account: Account) => {
    const client = new EagerClient(t.baseUrl);
    client.auth.token = account.accessToken;
    return client;
  };

  it("stay ≥ 0 at every sample and return to their baseline (lobby, stream, match_queue)", async function () {
    this.timeout(120_000);
    const users = await Promise.all(Array.from({ length: 10 }, (_, i) => chatter(t, `Churn ${i}`)));
    const owner = users[0];
    const live = await t.fetch("/api/streams", json({ title: "Churn" }, bearer(owner.accessToken)));
    assert.equal(live.status, 201);
    const streamId = ((await live.json()) as { id: string }).id;
    const rooms: Array<[string, () => object]> = [
      ["lobby", () => ({})],
      ["stream", () => ({ streamId })],
      ["match_queue", () => freshBucket()],
    ];

    /** Joins and leaves at once. */
    const joinLeave = async (client: EagerClient, name: string, options: object) => {
      const room = await client.joinOrCreate(name, options);
      await room.leave();
    };
    /** Closes the socket while the server may still be in onAuth/onJoin. */
    const leaveDuringJoin = async (client: EagerClient, name: string, options: object) => {
      client.joining = undefined;
      const joined = client.joinOrCreate(name, options).catch(() => undefined);
      // Read through a function: the SDK sets it while the join runs.
      const joining = (): Room | undefined => client.joining;
      const until = Date.now() + 5000;
      while (!joining()?.connection?.transport && Date.now() < until) await sleep(1);
      await sleep(Math.random() * 15);
      joining()?.connection?.close();
      const room = (await Promise.race([joined, sleep(5000)])) as Room | undefined;
      if (room?.connection.isOpen) await room.leave();
    };
    /** Drops the socket without a leave; the SDK tries to reconnect (these rooms refuse it). */
    const dropAndReconnect = async (client: EagerClient, name: string, options: object) => {
      const room = await client.joinOrCreate(name, options);
      Object.assign(room.reconnection, { minUptime: 0, maxRetries: 2, minDelay: 10, delay: 10 });
      const left = new Promise((resolve) => room.onLeave(resolve));
      room.connection.close();
      await Promise.race([left, sleep(5000)]);
    };
    const actions = [joinLeave, leaveDuringJoin, dropAndReconnect];

    const baseline = await settled();
    const lowest = new Map<string, number>();
    let sampling = true;
    let samples = 0;
    const sampler = (async () => {
      while (sampling) {
        for (const [series, value] of await scrape()) lowest.set(series, Math.min(value, lowest.get(series) ?? value));
        samples++;
        await sleep(10);
      }
    })();
    // The SDK logs every reconnection attempt and early close on the console.
    const { info, warn } = console;
    console.info = console.warn = () => {};
    let joinErrors = 0;
    try {
      await Promise.all(
        users.map(async (user) => {
          const client = clientFor(user);
          for (let round = 0; round < 9; round++) {
            const [name, options] = rooms[(round + users.indexOf(user)) % rooms.length];
            const action = actions[Math.floor(round / rooms.length) % actions.length];
            // Refusals (ALREADY_QUEUED while a marker is cleared, a join cut short) are part of the churn.
            await action(client, name, options()).catch(() => joinErrors++);
          }
        }),
      );
    } finally {
      console.info = info;
      console.warn = warn;
    }

    // Back to the baseline once the rooms emptied by the churn are disposed.
    let after = roomGauges(await scrape());
    const until = Date.now() + 20_000;
    while (JSON.stringify([...after].sort()) !== JSON.stringify([...baseline].sort()) && Date.now() < until) {
      await sleep(200);
      after = roomGauges(await scrape());
    }
    sampling = false;
    await sampler;
    await t.fetch(`/api/streams/${streamId}`, { method: "DELETE", headers: bearer(owner.accessToken) });

    assert.ok(samples >= 5, `sampled ${samples} times during the churn`);
    const negative = [...lowest].filter(([, value]) => value < 0);
    assert.deepEqual(negative, [], "no gauge went negative");
    for (const name of ["colyseus_connected_clients", "stream_viewers", "streams_live"])
      assert.ok(lowest.has(name), `${name} was sampled`);
    assert.ok(joinErrors < users.length * 9, "most churn actions reached a room");
    assert.deepEqual(Object.fromEntries(after), Object.fromEntries(baseline), "room gauges back to their baseline");
  });
});
