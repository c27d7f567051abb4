import { createHash, randomBytes, randomUUID } from "node:crypto";
import { type EntityManager, IsNull } from "typeorm";
import { RefreshToken } from "../entities";
import { unauthorized } from "./errors";

export const REFRESH_TOKEN_TTL_SEC = 30 * 24 * 3600;

const hash = (token: string) => createHash("sha256").update(token).digest("hex");

/** Creates a refresh token in `familyId` (a new family when omitted); returns the opaque value. */
export async function issueRefreshToken(m: EntityManager, userId: string, familyId: string = randomUUID()) {
  const token = `rt_${randomBytes(32).toString("base64url")}`;
  await m.insert(RefreshToken, {
    userId,
    familyId,
    tokenHash: hash(token),
    expiresAt: new Date(Date.now() + REFRESH_TOKEN_TTL_SEC * 1000),
  });
  return { token, familyId };
}

export type RotationResult =
  | { ok: true; userId: string; familyId: string }
  | { ok: false; reason: "unknown" | "expired" | "revoked" | "reused"; userId?: string };

/**
 * Spends a refresh token inside the caller's transaction. The row is locked,
 * so of two concurrent refreshes of one token the first spends it and the
 * second finds it spent: that is reuse, and the whole family is revoked
 * (the caller commits that revocation and answers 401).
 */
export async function spendRefreshToken(m: EntityManager, token: string): Promise<RotationResult> {
  const row = await m
    .createQueryBuilder(RefreshToken, "t")
    .setLock("pessimistic_write")
    .where("t.token_hash = :hash", { hash: hash(token) })
    .getOne();
  if (!row) return { ok: false, reason: "unknown" };
  if (row.revokedAt) return { ok: false, reason: "revoked", userId: row.userId };
  if (row.spentAt) {
    await revokeFamily(m, row.familyId);
    return { ok: false, reason: "reused", userId: row.userId };
  }
  if (row.expiresAt.getTime() <= Date.now()) return { ok: false, reason: "expired", userId: row.userId };
  await m.update(RefreshToken, { id: row.id }, { spentAt: new Date() });
  return { ok: true, userId: row.userId, familyId: row.familyId };
}

export function rotationError(result: Exclude<RotationResult, { ok: true }>) {
  const messages = {
    unknown: "Invalid refresh token",
    expired: "Refresh token expired",
    revoked: "Refresh token revoked",
    reused: "Refresh token already used: every session of this login was revoked",
  };
  return unauthorized(messages[result.reason], `REFRESH_TOKEN_${result.reason.toUpperCase()}`);
}

export async function revokeFamily(m: EntityManager, familyId: string) {
  await m.update(RefreshToken, { familyId, revokedAt: IsNull() }, { revokedAt: new Date() });
}

/** The family of a live (unspent, unrevoked) token, for logout. */
export async function familyOf(m: EntityManager, token: string): Promise<{ familyId: string; userId: string } | null> {
  const row = await m.findOne(RefreshToken, {
    where: { tokenHash: hash(token) },
    select: { familyId: true, userId: true },
  });
  return row ? { familyId: row.familyId, userId: row.userId } : null;
}

export async function revokeAllForUser(m: EntityManager, userId: string) {
  await m.update(RefreshToken, { userId, revokedAt: IsNull() }, { revokedAt: new Date() });
}
