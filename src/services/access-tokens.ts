import type { Role } from "../entities";
import { unauthorized } from "./errors";
import { signJwt, verifyJwt } from "./jwt";

export { TOKEN_ISSUER } from "./jwt";
export const ACCESS_TOKEN_TTL_SEC = 15 * 60;
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
  return signJwt(
    secret,
    { role: claims.role, ver: claims.ver, fid: claims.fid, typ: "access" },
    { subject: claims.sub, audience: ACCESS_AUDIENCE, expiresInSec: ACCESS_TOKEN_TTL_SEC },
  );
}

/**
 * Access tokens verified lately, per secret: the claims of a signed token never
 * change, and a client presents the same token on every request and room join
 * (twice per matchmaking request: the per-user rate limit, then the room's
 * onAuth), so the HMAC and JSON work is done once per token. The expiry is
 * checked on every use; revocation is the caller's (token version).
 */
const VERIFIED_MAX = 10_000;
const verified = new Map<string, Map<string, { claims: AccessClaims; expiresAtMs: number }>>();

/** Signature, issuer, audience, expiry and `typ`; the caller checks the version against the user's. */
export function verifyAccessToken(secret: string, token: string): AccessClaims {
  let known = verified.get(secret);
  const hit = known?.get(token);
  if (hit && hit.expiresAtMs > Date.now()) return hit.claims;
  const p = verifyJwt(secret, token, {
    audience: ACCESS_AUDIENCE,
    typ: "access",
    label: "Access token",
    codes: { expired: "TOKEN_EXPIRED", invalid: "INVALID_TOKEN" },
  });
  if (typeof p.ver !== "number") throw unauthorized("Not an access token", "INVALID_TOKEN");
  const fid = typeof p.fid === "string" ? p.fid : undefined;
  const claims: AccessClaims = Object.freeze({ sub: p.sub!, role: p.role, ver: p.ver, fid, typ: "access" });
  if (typeof p.exp === "number") {
    if (!known) verified.set(secret, (known = new Map()));
    if (known.size >= VERIFIED_MAX) known.clear();
    known.set(token, { claims, expiresAtMs: p.exp * 1000 });
  }
  return claims;
}
