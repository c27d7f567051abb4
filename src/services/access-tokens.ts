import jwt from "jsonwebtoken";
import type { Role } from "../entities";
import { unauthorized } from "./errors";

export const ACCESS_TOKEN_TTL_SEC = 15 * 60;
export const TOKEN_ISSUER = "arcadia";
export const ACCESS_AUDIENCE = "arcadia:api";

export interface AccessClaims {
  sub: string;
  role: Role;
  /** The user's token version when issued; older than current = revoked. */
  ver: number;
  /** The refresh-token family of the login, so logout with only a bearer ends that login. */
  fid?: string;
  typ: "access";
}

export function signAccessToken(secret: string, claims: Omit<AccessClaims, "typ">): string {
  return jwt.sign({ role: claims.role, ver: claims.ver, fid: claims.fid, typ: "access" }, secret, {
    algorithm: "HS256",
    subject: claims.sub,
    issuer: TOKEN_ISSUER,
    audience: ACCESS_AUDIENCE,
    expiresIn: ACCESS_TOKEN_TTL_SEC,
  });
}

/**
 * Checks signature (HS256 only: `none` and every other algorithm are refused),
 * issuer, audience, expiry and `typ`. The token version is checked by the
 * caller against the user's current one.
 */
export function verifyAccessToken(secret: string, token: string): AccessClaims {
  let payload: jwt.JwtPayload;
  try {
    payload = jwt.verify(token, secret, {
      algorithms: ["HS256"],
      issuer: TOKEN_ISSUER,
      audience: ACCESS_AUDIENCE,
    }) as jwt.JwtPayload;
  } catch (err) {
    if (err instanceof jwt.TokenExpiredError) throw unauthorized("Access token expired", "TOKEN_EXPIRED");
    throw unauthorized("Invalid access token", "INVALID_TOKEN");
  }
  if (payload.typ !== "access" || typeof payload.sub !== "string" || typeof payload.ver !== "number") {
    throw unauthorized("Not an access token", "INVALID_TOKEN");
  }
  const fid = typeof payload.fid === "string" ? payload.fid : undefined;
  return { sub: payload.sub, role: payload.role, ver: payload.ver, fid, typ: "access" };
}
