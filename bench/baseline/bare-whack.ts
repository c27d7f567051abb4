import { type Client, defineRoom, Room } from "@colyseus/core";
import { serveBare } from "./boot";

/**
 * Baseline for the whack bench: the `whack` room's message exchange done by
 * Colyseus alone. `whack {hole, moleId}` is answered at once, to the sender,
 * with `hit {moleId, userId, points}` when it names a mole and `error {code:
 * "MISS", message}` otherwise; `ping {t}` with `pong {t, serverTime}`. No auth,
 * state, schedule, judging, rate window or storage: what is left is the floor
 * cost of a Colyseus request/answer on this machine.
 */
class BareWhackRoom extends Room {
  maxClients = 1;

  messages = {
    ready: () => {},
    whack: (client: Client, payload: { hole: number; moleId?: number | null }) => {
      if (payload.moleId) client.send("hit", { moleId: payload.moleId, userId: client.sessionId, points: 1 });
      else client.send("error", { code: "MISS", message: "Nothing was up in that hole" });
    },
    ping: (client: Client, payload: { t: number }) => client.send("pong", { t: payload.t, serverTime: Date.now() }),
  };
}

serveBare({ bare_whack: defineRoom(BareWhackRoom) });
