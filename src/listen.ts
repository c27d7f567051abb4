import { once } from "node:events";
import type { Server } from "@colyseus/core";
import { StartupError } from "./config";

/**
 * `Server.listen` from Colyseus 0.18 never settles when the bind fails (it adds
 * its "error" listener only after a successful bind), so a taken port would
 * hang start-up forever. This races it against the HTTP server's first error
 * and turns the common ones into a message for the operator.
 */
export async function listenOrFail(server: Server, port: number): Promise<void> {
  const http = server.transport.server;
  if (!http) return server.listen(port);
  const abort = new AbortController();
  const failed = once(http, "error", { signal: abort.signal }).then(([err]) => {
    throw explainListenError(err as NodeJS.ErrnoException, port);
  });
  try {
    await Promise.race([server.listen(port), failed]);
  } finally {
    abort.abort();
    failed.catch(() => {}); // settled by the abort once listening succeeded
  }
}

function explainListenError(err: NodeJS.ErrnoException, port: number): Error {
  if (err.code === "EADDRINUSE")
    return new StartupError(`Port ${port} is already in use (EADDRINUSE). Stop the other process, or set PORT.`, {
      cause: err,
    });
  if (err.code === "EACCES")
    return new StartupError(`Not allowed to listen on port ${port} (EACCES). Choose a port above 1023.`, {
      cause: err,
    });
  return err;
}
