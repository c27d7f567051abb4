import { randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import { TOKEN_ISSUER } from "./access-tokens";
import { unauthorized } from "./errors";

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
  const token = jwt.sign({ sid: claims.sid, gid: claims.gid, typ: "session" }, secret, {
    algorithm: "HS256",
    // Unique even when two heartbeats fall in the same second: every heartbeat gets a new token.
    jwtid: randomUUID(),
    subject: claims.sub,
    issuer: TOKEN_ISSUER,
    audience: SESSION_AUDIENCE,
    expiresIn: ttlSec,
  });
  return { token, expiresAt: new Date(Date.now() + ttlSec * 1000) };
}

export function verifySessionToken(secret: string, token: string): SessionClaims {
  let p: jwt.JwtPayload;
  try {
    p = jwt.verify(token, secret, {
      algorithms: ["HS256"],
      issuer: TOKEN_ISSUER,
      audience: SESSION_AUDIENCE,
    }) as jwt.JwtPayload;
  } catch (err) {
    if (err instanceof jwt.TokenExpiredError) throw unauthorized("Session token expired", "SESSION_TOKEN_EXPIRED");
    throw unauthorized("Invalid session token", "INVALID_SESSION_TOKEN");
  }
  if (p.typ !== "session" || typeof p.sid !== "string" || typeof p.gid !== "string" || typeof p.sub !== "string") {
    throw unauthorized("Not a session token", "INVALID_SESSION_TOKEN");
  }
  return { sid: p.sid, sub: p.sub, gid: p.gid };
}
