import type { Presence } from "@colyseus/core";
import type { DataSource } from "typeorm";
import type { Role } from "../entities";
import { SharedCache } from "./shared-cache";

/** What every authenticated request needs to know about its user. */
export interface AuthState {
  tokenVersion: number;
  role: Role;
  displayName: string;
  deleted: boolean;
  /** The user's preferred language (BCP 47), for negotiation without a query per request. */
  locale: string | null;
}

/**
 * Each user's token version, role, name and locale, cached per process so checking an
 * access token costs no database round trip. Any change (logout-all, password
 * or role change, ban, delete, profile edit) calls `invalidate` on every process at once.
 */
export class AuthStateCache extends SharedCache<AuthState | null> {
  constructor(dataSource: DataSource, presence: Presence) {
    super(presence, "arcadia:auth-state", async (userId) => {
      // Raw SQL: this is the cold path of every token check (each room join of a new user).
      const [row] = await dataSource.query(
        `SELECT token_version, role, display_name, locale, deleted_at IS NOT NULL AS deleted FROM users WHERE id = $1`,
        [userId],
      );
      if (!row) return null;
      return {
        tokenVersion: row.token_version,
        role: row.role,
        displayName: row.display_name,
        deleted: row.deleted,
        locale: row.locale,
      };
    });
  }
}
