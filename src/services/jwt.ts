import { createSecretKey, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import { unauthorized } from "./errors";

export const TOKEN_ISSUER = "arcadia";

/**
 * Secrets as KeyObjects, made once: given a string, jsonwebtoken first tries
 * it as a public key (which throws) on every verify, a measurable cost when
 * every room join and HTTP request verifies a token.
 */
const keys = new Map<string, KeyObject>();
function keyFor(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) keys.set(secret, (key = createSecretKey(Buffer.from(secret, "utf8"))));
  return key;
}

/**
 * Our JWTs, signed and verified in one place: HS256 only (verification pins
 * the algorithm, so `none` and every other one are refused), our issuer, one
 * audience per token kind, and `typ` naming the kind.
 */
export function signJwt(
  secret: string,
  payload: Record<string, unknown>,
  options: { subject: string; audience: string; expiresInSec: number; jwtid?: string },
): string {
  return jwt.sign(payload, keyFor(secret), {
    algorithm: "HS256",
    subject: options.subject,
    issuer: TOKEN_ISSUER,
    audience: options.audience,
    expiresIn: options.expiresInSec,
    ...(options.jwtid ? { jwtid: options.jwtid } : {}),
  });
}

/** The payload of a valid token of `typ`, or a 401 with `codes.expired` / `codes.invalid`. */
export function verifyJwt(
  secret: string,
  token: string,
  expected: { audience: string; typ: string; codes: { expired: string; invalid: string }; label: string },
): jwt.JwtPayload {
  let payload: jwt.JwtPayload;
  try {
    payload = jwt.verify(token, keyFor(secret), {
      algorithms: ["HS256"],
      issuer: TOKEN_ISSUER,
      audience: expected.audience,
    }) as jwt.JwtPayload;
  } catch (err) {
    if (err instanceof jwt.TokenExpiredError) throw unauthorized(`${expected.label} expired`, expected.codes.expired);
    throw unauthorized(`Invalid ${expected.label.toLowerCase()}`, expected.codes.invalid);
  }
  if (payload.typ !== expected.typ || typeof payload.sub !== "string") {
    throw unauthorized(`Not a ${expected.label.toLowerCase()}`, expected.codes.invalid);
  }
  return payload;
}
