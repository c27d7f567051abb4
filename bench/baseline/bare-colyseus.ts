import { defineRoom, LobbyRoom } from "@colyseus/core";
import { serveBare } from "./boot";

/** Baseline for the start-up bench: Colyseus alone (lobby room, no database, no Express routes). */
serveBare({ lobby: defineRoom(LobbyRoom) });
