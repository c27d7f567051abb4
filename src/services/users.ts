import type { DataSource } from "typeorm";
import { User } from "../entities";
import type { AuthService, Principal } from "./auth";
import type { AuthStateCache } from "./auth-state";
import { forbidden, isUniqueViolation, notFound } from "./errors";
import { hashPassword, verifyPassword } from "./passwords";
import { toPublicView, toSelfView, type UserPublicView, type UserSelfView } from "./user-views";

/** Profiles: reading, editing, deleting (anonymising), and the operator account. */
export class UserService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly auth: AuthService,
    private readonly authState: AuthStateCache,
  ) {}

  /** Self and admins see contact details; everyone else the public profile. */
  async get(viewer: Principal, id: string): Promise<UserPublicView | UserSelfView> {
    const user = await this.dataSource.getRepository(User).findOne({ where: { id } });
    if (!user) throw notFound("No such user", "USER_NOT_FOUND");
    return canManage(viewer, id) ? toSelfView(user) : toPublicView(user);
  }

  async update(
    actor: Principal,
    id: string,
    changes: { displayName?: string; locale?: string | null },
  ): Promise<UserSelfView> {
    if (!canManage(actor, id)) throw forbidden("Only the user or an admin may edit this profile");
    const users = this.dataSource.getRepository(User);
    const user = await users.findOne({ where: { id } });
    if (!user || user.deletedAt) throw notFound("No such user", "USER_NOT_FOUND");
    if (changes.displayName !== undefined) user.displayName = changes.displayName;
    if (changes.locale !== undefined) user.locale = changes.locale;
    const saved = await users.save(user);
    await this.authState.invalidate(id); // rooms and language negotiation read names and locales from the auth cache
    return toSelfView(saved);
  }

  /**
   * Deletion anonymises: personal fields are cleared, every token revoked, and
   * the row kept so ledgers and matches that point at it stay consistent.
   */
  async delete(actor: Principal, id: string): Promise<void> {
    if (!canManage(actor, id)) throw forbidden("Only the user or an admin may delete this account");
    await this.dataSource.transaction(async (m) => {
      const user = await m.findOne(User, { where: { id }, lock: { mode: "pessimistic_write" } });
      if (!user || user.deletedAt) throw notFound("No such user", "USER_NOT_FOUND");
      await m.update(
        User,
        { id },
        {
          email: null,
          passwordHash: null,
          displayName: "Deleted user",
          deviceId: null,
          phone: null,
          emailVerifiedAt: null,
          phoneVerifiedAt: null,
          locale: null,
          deletedAt: new Date(),
        },
      );
      await this.auth.revokeEverything(m, id);
    });
    await this.authState.invalidate(id);
  }

  /** Creates or updates the operator account from ADMIN_EMAIL / ADMIN_PASSWORD. */
  async ensureAdmin(email: string, password: string, retried = false): Promise<void> {
    const normalized = email.trim().toLowerCase();
    const users = this.dataSource.getRepository(User);
    const existing = await users.findOne({ where: { email: normalized } });
    if (!existing) {
      try {
        await users.save(
          users.create({
            email: normalized,
            passwordHash: await hashPassword(password),
            displayName: "Admin",
            role: "admin",
          }),
        );
        return;
      } catch (err) {
        // Another process starting at the same moment created it first: check that one instead.
        if (isUniqueViolation(err) && !retried) return this.ensureAdmin(email, password, true);
        throw err;
      }
    }
    const passwordMatches = !!existing.passwordHash && (await verifyPassword(existing.passwordHash, password)).ok;
    if (passwordMatches && existing.role === "admin" && !existing.deletedAt) return;
    await this.dataSource.transaction(async (m) => {
      await m.update(
        User,
        { id: existing.id },
        {
          role: "admin",
          deletedAt: null,
          passwordHash: passwordMatches ? existing.passwordHash : await hashPassword(password),
        },
      );
      // A changed password or role ends the account's other sessions.
      await this.auth.revokeEverything(m, existing.id);
    });
    await this.authState.invalidate(existing.id);
  }
}

export function canManage(actor: Principal, userId: string): boolean {
  return actor.userId === userId || actor.role === "admin";
}
