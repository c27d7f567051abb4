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

/** Signature, issuer, audience, expiry and `typ`; the caller checks the version against the user's. */
export function verifyAccessToken(secret: string, token: string): AccessClaims {
  const p = verifyJwt(secret, token, {
    audience: ACCESS_AUDIENCE,
    typ: "access",
    label: "Access token",
    codes: { expired: "TOKEN_EXPIRED", invalid: "INVALID_TOKEN" },
  });
  if (typeof p.ver !== "number") throw unauthorized("Not an access token", "INVALID_TOKEN");
  const fid = typeof p.fid === "string" ? p.fid : undefined;
  return { sub: p.sub!, role: p.role, ver: p.ver, fid, typ: "access" };
}
