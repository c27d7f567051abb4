import { defineServer, type RegisteredHandler } from "@colyseus/core";

/** A baseline server: Colyseus alone with `rooms` on PORT; logs the same "server ready" line as ours. */
export function serveBare(rooms: Record<string, RegisteredHandler>) {
  defineServer({ rooms, greet: false, express: () => {} })
    .listen(Number(process.env.PORT))
    .then(() => console.log('{"msg":"server ready"}'))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
