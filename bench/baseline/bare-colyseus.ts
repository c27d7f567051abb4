import { defineRoom, defineServer, LobbyRoom } from "@colyseus/core";

/** Baseline for the start-up bench: Colyseus alone (lobby room, no database, no Express routes). */
const server = defineServer({ rooms: { lobby: defineRoom(LobbyRoom) }, greet: false, express: () => {} });
server
  .listen(Number(process.env.PORT))
  .then(() => console.log('{"msg":"server ready"}'))
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
