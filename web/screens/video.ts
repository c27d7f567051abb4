import type { Room } from "@colyseus/sdk";
import { api, ApiError } from "../lib/api";
import { button, fill, form, guarded, h, showError, time } from "../lib/dom";
import { colyseus, leave, reportRoomErrors } from "../lib/rooms";
import { CallPeer, type Role, type SignalType } from "../lib/rtc";
import { MatchQueueState, VideoCallState } from "../lib/state";

const REGIONS = ["eu", "na", "sa", "as", "af", "oc"];

interface Matched {
  callId: string;
  seat: any;
  peer: { displayName: string };
  role: Role;
}

/**
 * Video chat: pick a bucket (region, language) → queue → a 1:1 call over
 * RTCPeerConnection (our offer/answer/candidate relay, TURN credentials from
 * the server, perfect negotiation by role) with the call's timer → MATCH/PASS
 * → the match chat on a mutual match.
 */
export function videoScreen(root: HTMLElement) {
  const rooms: Array<Room<any, any> | undefined> = [];
  let peer: CallPeer | undefined;
  let local: MediaStream | undefined;
  let timers: Array<ReturnType<typeof setInterval>> = [];

  const stage = h("p", { id: "call-stage" }, "Choose where to meet people.");
  const localVideo = h("video", { id: "local-video", autoplay: true, muted: true, playsinline: true });
  const remoteVideo = h("video", { id: "remote-video", autoplay: true, playsinline: true });
  const stats = h("p", { class: "muted", id: "call-stats" });
  const controls = h("div", { class: "row", id: "call-controls" });
  const chat = h("div", { id: "match-chat" });
  const language = (navigator.language || "en").slice(0, 2).toLowerCase();

  const setup = form(
    { id: "queue-form" },
    [
      h("select", { name: "region", id: "region" }, ...REGIONS.map((r) => h("option", { value: r }, r.toUpperCase()))),
      h("input", {
        name: "language",
        id: "language",
        value: language,
        pattern: "[a-z]{2}",
        size: 2,
        required: true,
        "aria-label": "language",
      }),
      h("label", {}, h("input", { type: "checkbox", name: "relay", id: "relay", value: "1" }), " relay only (TURN)"),
      h("button", { class: "primary" }, "Find someone"),
    ],
    async (data) => queue(data.region, data.language, data.relay === "1"),
  );
  root.append(
    h(
      "section",
      {},
      h("h2", {}, "Video chat"),
      setup,
      stage,
      h("div", { class: "videos" }, localVideo, remoteVideo),
      stats,
      controls,
    ),
    chat,
  );

  const queue = async (region: string, lang: string, relayOnly: boolean) => {
    setup.hidden = true;
    local ??= await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    localVideo.srcObject = local;
    const ice = await iceServers();
    const q = await colyseus().joinOrCreate("match_queue", { region, language: lang }, MatchQueueState);
    rooms.push(q);
    reportRoomErrors(q);
    q.onMessage("moderation:action", (m: { reason: string }) => showError({ message: `Removed: ${m.reason}` }));
    let matched = false;
    q.onStateChange((s) => {
      if (!matched) stage.textContent = `Waiting for someone… (${s.waiting} in this queue)`;
    });
    fill(
      controls,
      button("Leave queue", () => (leave(q), reset())),
    );
    q.onMessage("matched", (m: Matched) => {
      matched = true;
      leave(q); // the seat is ours; the queue would close its side shortly anyway
      void guarded(() => call(m, ice, relayOnly));
    });
  };

  const call = async (m: Matched, ice: RTCIceServer[], relayOnly: boolean) => {
    stage.textContent = `Matched with ${m.peer.displayName}. Connecting…`;
    const room = await colyseus().consumeSeatReservation(m.seat, VideoCallState);
    rooms.push(room);
    reportRoomErrors(room);
    const signal = (type: SignalType) => room.onMessage(type, (payload: unknown) => peer?.receive(type, payload));
    (["offer", "answer", "candidate"] as const).forEach(signal);
    room.onMessage("chat", (c: { text: string }) => stage.append(h("span", {}, ` ${m.peer.displayName}: ${c.text}`)));
    room.onMessage("reaction", () => {});
    room.onMessage("peer-disconnected", () => (stage.textContent = `${m.peer.displayName} left.`));
    room.onMessage("moderation:action", (a: { action: string; reason: string }) =>
      showError({ message: `Moderation: ${a.action} (${a.reason})` }),
    );
    room.onMessage("session:start", (s: { endAt: number; role: Role }) => {
      stage.dataset.role = s.role;
      stage.textContent = `In a call with ${m.peer.displayName}.`;
      peer = new CallPeer({
        role: s.role,
        iceServers: ice,
        iceTransportPolicy: relayOnly ? "relay" : "all",
        local: local!,
        send: (type, payload) => room.send(type, payload),
        onRemoteStream: (stream) => (remoteVideo.srcObject = stream),
        onError: showError,
      });
      fill(
        controls,
        button("Hang up", () => room.send("end"), { id: "hang-up" }),
        button("Reconnect video", () => peer?.restart(), { id: "restart-ice" }),
      );
      timers.push(setInterval(() => void status(s.endAt), 500));
    });
    room.onMessage("session:end", (e: { reason: string; choiceDeadline?: number }) => {
      hangUp();
      if (!e.choiceDeadline) return void (stage.textContent = `Call ended (${e.reason}).`);
      stage.textContent = `Call over. Match with ${m.peer.displayName}? Decide by ${time(e.choiceDeadline)}.`;
      const choose = (choice: "MATCH" | "PASS") => {
        room.send("choice", { choice });
        fill(controls, h("span", { id: "chosen" }, `You chose ${choice}. Waiting for ${m.peer.displayName}…`));
      };
      fill(
        controls,
        button("MATCH", () => choose("MATCH"), { id: "choose-match", class: "primary" }),
        button("PASS", () => choose("PASS"), { id: "choose-pass" }),
      );
    });
    room.onMessage("match:mutual", (r: { matchId: string }) => {
      fill(controls, h("strong", { id: "mutual" }, "It's a match!"));
      void guarded(() => matchChat(r.matchId, m.peer.displayName));
    });
    room.onMessage("match:non_mutual", () =>
      fill(controls, h("span", { id: "non-mutual" }, "No match this time."), again()),
    );
  };

  const status = async (endAt: number) => {
    if (!peer) return;
    const left = Math.max(0, Math.ceil((endAt - Date.now()) / 1000));
    const frames = await peer.framesDecoded();
    const relayed = await peer.relayed();
    stats.textContent = `${left} s left · connection ${peer.pc.connectionState} · frames decoded ${frames}${relayed ? " · via TURN relay" : ""}`;
    stats.dataset.connection = peer.pc.connectionState;
    stats.dataset.frames = String(frames);
    stats.dataset.relayed = String(relayed);
  };

  const matchChat = async (matchId: string, partner: string) => {
    const log = h("ul", { class: "log", id: "chat-log" });
    const room = await colyseus().joinOrCreate("match_chat", { matchId });
    rooms.push(room);
    reportRoomErrors(room);
    const mine = (
      await api<{ messages: Array<{ fromUserId: string; text: string }> }>(`/api/matches/${matchId}/messages?limit=20`)
    ).messages;
    log.append(...mine.reverse().map((x) => h("li", {}, x.text)));
    room.onMessage("message", (x: { text: string; createdAt: string }) =>
      log.append(h("li", {}, `${time(x.createdAt)} ${x.text}`)),
    );
    const send = form(
      { id: "chat-form" },
      [
        h("input", {
          name: "text",
          id: "chat-text",
          placeholder: `Message ${partner}`,
          required: true,
          maxlength: 1000,
        }),
        h("button", {}, "Send"),
      ],
      async ({ text }, f) => {
        room.send("message", { text });
        f.reset();
      },
    );
    fill(chat, h("section", {}, h("h2", {}, `Chat with ${partner}`), log, send));
  };

  const hangUp = () => {
    timers.forEach(clearInterval);
    timers = [];
    peer?.close();
    peer = undefined;
  };
  const again = () => button("Find someone else", () => reset());
  const reset = () => {
    hangUp();
    rooms.splice(0).forEach(leave);
    setup.hidden = false;
    stage.textContent = "Choose where to meet people.";
    fill(controls);
    fill(chat);
  };

  return () => {
    reset();
    local?.getTracks().forEach((t) => t.stop());
  };
}

/** TURN credentials for this user; without TURN configured, direct connections only. */
async function iceServers(): Promise<RTCIceServer[]> {
  try {
    const c = await api<{ username: string; credential: string; uris: string[] }>("/api/turn/credentials", {
      method: "POST",
    });
    return c.uris.length ? [{ urls: c.uris, username: c.username, credential: c.credential }] : [];
  } catch (err) {
    if (err instanceof ApiError && err.code === "TURN_NOT_CONFIGURED") return [];
    throw err;
  }
}
