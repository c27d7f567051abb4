import type { Room } from "@colyseus/sdk";
import { api, currentUser, idempotencyKey } from "../lib/api";
import { button, fill, form, guarded, h, time } from "../lib/dom";
import { colyseus, leave, reportRoomErrors } from "../lib/rooms";
import { StreamState } from "../lib/state";

interface Stream {
  id: string;
  ownerId: string;
  title: string;
  description: string | null;
  viewerCount: number;
}

interface ChatMessage {
  id: string;
  displayName: string;
  text: string;
  createdAt: string;
}

/** Live streams, and going live. */
export function streamsScreen(root: HTMLElement) {
  const list = h("ul", { class: "log", id: "streams" });
  const goLive = form(
    { id: "go-live" },
    [
      h("input", { name: "title", id: "stream-title", placeholder: "Stream title", required: true, maxlength: 120 }),
      h("button", { class: "primary" }, "Go live"),
    ],
    async ({ title }) => {
      const stream = await api<Stream>("/api/streams", { body: { title } });
      location.hash = `#/streams/${stream.id}`;
    },
  );
  root.append(h("section", {}, h("h2", {}, "Live now"), list), h("section", {}, h("h2", {}, "Go live"), goLive));
  void guarded(async () => {
    const { streams } = await api<{ streams: Stream[] }>("/api/streams");
    if (!streams.length) return fill(list, h("li", { class: "muted" }, "Nobody is live right now."));
    fill(
      list,
      ...streams.map((s) =>
        h(
          "li",
          {},
          h("a", { href: `#/streams/${s.id}` }, s.title),
          h("span", { class: "muted" }, ` · ${s.viewerCount} watching`),
        ),
      ),
    );
  });
}

/** One stream: live chat, tips, viewer count; its owner can end it. */
export function watchScreen(root: HTMLElement, streamId: string) {
  let room: Room<any, StreamState> | undefined;
  let closed = false;
  const title = h("h2", { id: "stream-heading" }, "Stream");
  const viewers = h("span", { id: "viewer-count" }, "0");
  const log = h("ul", { class: "log", id: "stream-chat" });
  const status = h("p", { class: "muted", id: "stream-status" });
  const owner = h("div", { class: "row" });
  const line = (text: string, cls = "") => log.append(h("li", { class: cls }, text));

  const chat = form(
    { id: "stream-chat-form" },
    [
      h("input", {
        name: "text",
        id: "stream-chat-text",
        placeholder: "Say something",
        required: true,
        maxlength: 500,
      }),
      h("button", {}, "Send"),
    ],
    async ({ text }, f) => {
      room?.send("chat", { text });
      f.reset();
    },
  );
  const tip = form(
    { id: "tip-form" },
    [
      h("input", {
        name: "amount",
        id: "tip-amount",
        type: "number",
        min: 1,
        value: 1,
        required: true,
        "aria-label": "tokens",
      }),
      h("input", { name: "message", id: "tip-message", placeholder: "Message (optional)", maxlength: 200 }),
      h("button", {}, "Tip"),
    ],
    async ({ amount, message }, f) => {
      await api("/api/payments/tip", {
        body: { streamId, amount: Number(amount), ...(message ? { message } : {}) },
        headers: idempotencyKey(),
      });
      f.reset();
    },
  );
  root.append(h("section", {}, title, h("p", {}, h("span", {}, "Watching: "), viewers), status, owner, log, chat, tip));

  void guarded(async () => {
    const stream = await api<Stream>(`/api/streams/${streamId}`);
    title.textContent = stream.title;
    if (stream.ownerId === currentUser()?.id) {
      fill(
        owner,
        button("End stream", () => api(`/api/streams/${streamId}`, { method: "DELETE" }), { id: "end-stream" }),
      );
    }
    const joined = await colyseus().joinOrCreate("stream", { streamId }, StreamState);
    if (closed) return leave(joined);
    room = joined;
    reportRoomErrors(joined);
    joined.onStateChange((s) => {
      viewers.textContent = String(s.viewerCount);
      title.textContent = s.title;
    });
    joined.onMessage("history", ({ messages }: { messages: ChatMessage[] }) => {
      fill(log);
      messages.forEach((m) => line(`${time(m.createdAt)} ${m.displayName}: ${m.text}`));
    });
    joined.onMessage("chatMessage", (m: ChatMessage) => line(`${time(m.createdAt)} ${m.displayName}: ${m.text}`));
    joined.onMessage("chatDeleted", ({ id }: { id: string }) => void id);
    joined.onMessage("muted", ({ until }: { until: string }) => (status.textContent = `Muted until ${time(until)}`));
    joined.onMessage("tipReceived", (t: { fromDisplayName: string; amount: number; message?: string }) =>
      line(`${t.fromDisplayName} tipped ${t.amount}${t.message ? `: ${t.message}` : ""}`, "tip"),
    );
    joined.onMessage("userJoined", (a: Arrivals) => (status.textContent = `${arrivals(a)} joined`));
    joined.onMessage("userLeft", (a: Arrivals) => (status.textContent = `${arrivals(a)} left`));
    joined.onMessage("streamUpdate", (u: { title: string }) => (title.textContent = u.title));
    joined.onMessage("streamEnded", () => {
      status.textContent = "The stream has ended.";
      chat.hidden = tip.hidden = true;
      fill(owner);
    });
  });
  return () => {
    closed = true;
    leave(room);
  };
}

/** `userJoined` / `userLeft`: the first users of a window's joins (or leaves) and how many there were. */
interface Arrivals {
  users: Array<{ userId: string; displayName: string }>;
  count: number;
}

/** "Ann", "Ann, Bo", or "Ann, Bo and 3 others". */
function arrivals({ users, count }: Arrivals): string {
  const named = users.slice(0, 2).map((u) => u.displayName);
  const others = count - named.length;
  return others > 0 ? `${named.join(", ")} and ${others} other${others === 1 ? "" : "s"}` : named.join(", ");
}
