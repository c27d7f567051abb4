import { createHmac } from "node:crypto";
import { isIP } from "node:net";

/** A stable pseudonymous id for a user: HMAC-SHA256 of the id with a server secret (32 hex). */
export function pseudonymousId(secret: string, userId: string): string {
  return createHmac("sha256", secret).update(`analytics-user:${userId}`).digest("hex").slice(0, 32);
}

const EMAIL = /[^\s@]+@[^\s@]+\.[^\s@]+/;
const PERSONAL_KEYS = /^(e-?mail|ip|ip_?address|\$ip|phone|user_?id|userid)$/i;

/**
 * The properties without anything personal: keys naming an email, address, phone or raw user
 * id, and any string value that looks like an email or an IP address, are left out.
 */
export function scrubProperties(properties: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(properties)) {
    if (PERSONAL_KEYS.test(k)) continue;
    if (typeof v === "string" && (EMAIL.test(v) || isIP(v.trim()) !== 0)) continue;
    if (v !== null && typeof v === "object") continue; // scalars only: nested values could hide anything
    out[k] = v;
  }
  return out;
}
