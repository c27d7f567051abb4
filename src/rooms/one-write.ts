import type { Client } from "@colyseus/core";

interface Corkable {
  cork(): void;
  uncork(): void;
  destroyed: boolean;
}

/**
 * Runs `send` with every client's socket corked: the frames it sends to a
 * client leave in one write (one syscall) instead of one each. Broadcasting a
 * batch of messages this way costs a syscall per viewer per batch, not per
 * message; under load, when batches grow, that is most of a broadcast's cost.
 * (The socket is ws's `_socket` under Colyseus's WebSocketClient `ref`; a
 * client on another transport is sent to as usual.)
 */
export function inOneWrite(clients: Iterable<Client>, send: () => void): void {
  const corked: Corkable[] = [];
  for (const client of clients) {
    const socket = (client as unknown as { ref?: { _socket?: Corkable } }).ref?._socket;
    if (!socket || socket.destroyed) continue;
    socket.cork();
    corked.push(socket);
  }
  try {
    send();
  } finally {
    for (const socket of corked) socket.uncork();
  }
}
