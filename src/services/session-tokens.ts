import { randomUUID } from "node:crypto";
import { unauthorized } from "./errors";
import { signJwt, verifyJwt } from "./jwt";

export const SESSION_AUDIENCE = "arcadia:session";

export interface SessionClaims {
  /** Play session id. */
  sid: string;
  /** User id. */
  sub: string;
  /** Game id. */
  gid: string;
}

/**
 * Play session tokens: short-lived, rolled on every heartbeat, signed with
 * their own secret and audience so they are never accepted as access tokens
 * (and access tokens never as session tokens). Being signed is not enough:
 * the caller also checks that the session is still live.
 */
export function signSessionToken(secret: string, claims: SessionClaims, ttlSec: number) {
  const token = signJwt(
    secret,
    { sid: claims.sid, gid: claims.gid, typ: "session" },
    // A unique jti: two heartbeats in the same second still get different tokens.
    { subject: claims.sub, audience: SESSION_AUDIENCE, expiresInSec: ttlSec, jwtid: randomUUID() },
  );
  return { token, expiresAt: new Date(Date.now() + ttlSec * 1000) };
}

export function verifySessionToken(secret: string, token: string): SessionClaims {
  const p = verifyJwt(secret, token, {
    audience: SESSION_AUDIENCE,
    typ: "session",
    label: "Session token",
    codes: { expired: "SESSION_TOKEN_EXPIRED", invalid: "INVALID_SESSION_TOKEN" },
  });
  if (typeof p.sid !== "string" || typeof p.gid !== "string") {
    throw unauthorized("Not a session token", "INVALID_SESSION_TOKEN");
  }
  return { sid: p.sid, sub: p.sub!, gid: p.gid };
}
