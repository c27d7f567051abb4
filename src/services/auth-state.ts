import type { Presence } from "@colyseus/core";
import type { DataSource } from "typeorm";
import { type Role, User } from "../entities";
import { SharedCache } from "./shared-cache";

/** What every authenticated request needs to know about its user. */
export interface AuthState {
  tokenVersion: number;
  role: Role;
  displayName: string;
  deleted: boolean;
}

/**
 * Each user's token version, role and name, cached per process so checking an
 * access token costs no database round trip. Any change (logout-all, password
 * or role change, ban, delete) calls `invalidate` on every process at once.
 */
export class AuthStateCache extends SharedCache<AuthState | null> {
  constructor(dataSource: DataSource, presence: Presence) {
    super(presence, "arcadia:auth-state", async (userId) => {
      const user = await dataSource.getRepository(User).findOne({
        where: { id: userId },
        select: { id: true, tokenVersion: true, role: true, displayName: true, deletedAt: true },
      });
      if (!user) return null;
      return {
        tokenVersion: user.tokenVersion,
        role: user.role,
        displayName: user.displayName,
        deleted: !!user.deletedAt,
      };
    });
  }
}
