import { randomInt } from "node:crypto";
import type { DataSource, EntityManager } from "typeorm";
import { type Role, User } from "../entities";
import { ACCESS_TOKEN_TTL_SEC, signAccessToken, verifyAccessToken } from "./access-tokens";
import type { AttemptCounter } from "./attempt-counter";
import type { AuthStateCache } from "./auth-state";
import type { DomainLog } from "./domain-log";
import { AppError, conflict, forbidden, isUniqueViolation, unauthorized } from "./errors";
import { checkPasswordPolicy, hashPassword, verifyAgainstDummy, verifyPassword } from "./passwords";
import {
  familyOf,
  issueRefreshToken,
  revokeAllForUser,
  revokeFamily,
  rotationError,
  spendRefreshToken,
} from "./refresh-tokens";
import { toSelfView, type UserSelfView } from "./user-views";

export interface AuthDependencies {
  dataSource: DataSource;
  jwtSecret: string;
  authState: AuthStateCache;
  loginFailures: AttemptCounter;
  /** Where user_registered and login go (absent: not recorded). */
  domainLog?: DomainLog;
}

/** Who a valid access token belongs to. */
export interface Principal {
  userId: string;
  role: Role;
  displayName: string;
  /** The user's preferred language (BCP 47), or null. */
  locale: string | null;
  /** The refresh-token family of the login this access token came from. */
  familyId?: string;
}

export interface SessionBundle {
  user: UserSelfView;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

/**
 * Failed-login limits (OWASP: lock per account and source, so knowing an email
 * is not enough to lock its owner out). One (account, source) pair is locked
 * after 10 failures until its 15-minute window ends; the account as a whole,
 * across all sources, takes at most 100 failures per 15 minutes, after which
 * every source waits for the window to end.
 */
export const LOGIN_THROTTLE = {
  perSource: { maxFailures: 10, windowSec: 15 * 60 },
  perAccount: { maxFailures: 100, windowSec: 15 * 60 },
};

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

/**
 * Accounts and sessions: registration, logins (password, device), refresh-token
 * rotation with reuse detection, logouts, password changes, and the access
 * check used by HTTP routes and rooms alike.
 */
export class AuthService {
  constructor(private readonly deps: AuthDependencies) {}

  /** New account, or, when `guestId` is given, the guest account upgraded in place (same id, same wallet). */
  async register(input: { email: string; password: string; displayName: string }, guestId?: string) {
    const email = normalizeEmail(input.email);
    checkPasswordPolicy(input.password, { email, displayName: input.displayName });
    const passwordHash = await hashPassword(input.password);
    try {
      return await this.deps.dataSource.transaction(async (m) => {
        let user: User;
        if (guestId) {
          const guest = await m.findOne(User, { where: { id: guestId }, lock: { mode: "pessimistic_write" } });
          if (!guest || guest.deletedAt) throw unauthorized();
          if (!guest.isGuest) throw conflict("ALREADY_REGISTERED", "This account already has an email");
          guest.email = email;
          guest.passwordHash = passwordHash;
          guest.displayName = input.displayName;
          guest.isGuest = false;
          user = await m.save(guest);
        } else {
          user = await m.save(m.create(User, { email, passwordHash, displayName: input.displayName }));
        }
        await this.deps.domainLog?.record(
          m,
          "user_registered",
          { userId: user.id, upgradedFromGuest: Boolean(guestId) },
          { userId: user.id },
        );
        return this.issueSession(m, user);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict("EMAIL_TAKEN", "An account with this email already exists");
      throw err;
    }
  }

  /**
   * Unknown email and wrong password answer alike, in comparable time. Each
   * attempt is reserved in the counters (one atomic increment each) before
   * argon2 runs, so a parallel burst cannot slip past the limits: see
   * LOGIN_THROTTLE. `source` is the client's address (an IPv6 /56 prefix).
   */
  async login(input: { email: string; password: string }, source: string): Promise<SessionBundle> {
    const email = normalizeEmail(input.email);
    const { perSource, perAccount } = LOGIN_THROTTLE;
    const counters = this.deps.loginFailures;
    const sourceKey = `login:${email}|${source}`;
    const accountKey = `login:${email}`;
    const fromSource = await counters.hit(sourceKey, perSource.windowSec);
    if (fromSource.count > perSource.maxFailures) throw accountLocked(fromSource.resetSec);
    const overall = await counters.hit(accountKey, perAccount.windowSec);
    if (overall.count > perAccount.maxFailures) {
      await counters.release(sourceKey); // not a guess: no password was tried
      throw accountThrottled(overall.resetSec);
    }

    let user: User | null;
    let verdict: { ok: boolean; needsRehash: boolean };
    try {
      user = await this.deps.dataSource.getRepository(User).findOne({ where: { email } });
      verdict =
        user?.passwordHash && !user.deletedAt
          ? await verifyPassword(user.passwordHash, input.password)
          : (await verifyAgainstDummy(input.password), { ok: false, needsRehash: false });
    } catch (err) {
      // Our failure (the database), not the client's guess: give the reservations back.
      await Promise.all([counters.release(sourceKey), counters.release(accountKey)]).catch(() => undefined);
      throw err;
    }
    if (!user || !verdict.ok) {
      // The reservations stay as this failure's record.
      if (fromSource.count >= perSource.maxFailures) throw accountLocked(fromSource.resetSec);
      throw unauthorized("Wrong email or password", "INVALID_CREDENTIALS");
    }
    // The owner proved it from this source: its count starts over. The account-wide
    // count only gets this attempt back, so a spray from elsewhere keeps its tally.
    await Promise.all([counters.reset(sourceKey), counters.release(accountKey)]);
    return this.deps.dataSource.transaction(async (m) => {
      if (verdict.needsRehash)
        await m.update(User, { id: user.id }, { passwordHash: await hashPassword(input.password) });
      await this.deps.domainLog?.record(m, "login", { userId: user.id }, { userId: user.id });
      return this.issueSession(m, user);
    });
  }

  /** One guest account per device id, created on first use. */
  async guest(deviceId: string): Promise<SessionBundle> {
    return this.deps.dataSource.transaction(async (m) => {
      await m
        .createQueryBuilder()
        .insert()
        .into(User)
        .values({ deviceId, isGuest: true, displayName: `Guest ${randomInt(1000, 10000)}` })
        .orIgnore()
        .execute();
      const user = await m.findOneOrFail(User, { where: { deviceId } });
      if (user.deletedAt) throw forbidden("This account was deleted", "ACCOUNT_DELETED");
      if (!user.isGuest) throw conflict("DEVICE_REGISTERED", "This device's account has an email: log in with it");
      return this.issueSession(m, user);
    });
  }

  /** Spends the refresh token for a new pair. A spent token revokes its whole family. */
  async refresh(refreshToken: string): Promise<SessionBundle> {
    const outcome = await this.deps.dataSource.transaction(async (m) => {
      const spent = await spendRefreshToken(m, refreshToken);
      if (!spent.ok) return spent;
      const user = await m.findOne(User, { where: { id: spent.userId } });
      if (!user || user.deletedAt) return { ok: false as const, reason: "revoked" as const };
      return { ok: true as const, bundle: await this.issueSession(m, user, spent.familyId) };
    });
    // Outside the transaction: a reuse's family revocation must commit before we answer 401.
    if (!outcome.ok) throw rotationError(outcome);
    return outcome.bundle;
  }

  /** Ends one login: the family of the given refresh token, or of the access token's login. */
  async logout(from: { refreshToken?: string; familyId?: string }): Promise<void> {
    await this.deps.dataSource.transaction(async (m) => {
      const familyId = from.refreshToken ? (await familyOf(m, from.refreshToken))?.familyId : from.familyId;
      if (familyId) await revokeFamily(m, familyId);
    });
  }

  /** Every access and refresh token of the user stops working, on every process. */
  async logoutAll(userId: string): Promise<void> {
    await this.deps.dataSource.transaction((m) => this.revokeEverything(m, userId));
    await this.deps.authState.invalidate(userId);
  }

  async changePassword(userId: string, currentPassword: string, newPassword: string): Promise<void> {
    const users = this.deps.dataSource.getRepository(User);
    const user = await users.findOneOrFail({ where: { id: userId } });
    if (!user.passwordHash || !(await verifyPassword(user.passwordHash, currentPassword)).ok) {
      throw new AppError(403, "INVALID_CREDENTIALS", "The current password is wrong").withParams({
        field: "currentPassword",
      });
    }
    checkPasswordPolicy(newPassword, { email: user.email, displayName: user.displayName });
    const passwordHash = await hashPassword(newPassword);
    await this.deps.dataSource.transaction(async (m) => {
      await m.update(User, { id: userId }, { passwordHash });
      await this.revokeEverything(m, userId);
    });
    await this.deps.authState.invalidate(userId);
  }

  /** Bumps the token version and revokes all refresh families, in the caller's transaction. */
  async revokeEverything(m: EntityManager, userId: string): Promise<void> {
    await m.increment(User, { id: userId }, "tokenVersion", 1);
    await revokeAllForUser(m, userId);
  }

  /**
   * The access check for HTTP and rooms: signature, claims, then the user's
   * current token version (cached; no database round trip in the steady state).
   */
  async authenticate(accessToken: string): Promise<Principal> {
    const claims = verifyAccessToken(this.deps.jwtSecret, accessToken);
    const state = await this.deps.authState.get(claims.sub);
    if (!state || state.deleted) throw unauthorized("Account no longer exists", "INVALID_TOKEN");
    if (claims.ver !== state.tokenVersion) throw unauthorized("Access token revoked", "TOKEN_REVOKED");
    return {
      userId: claims.sub,
      role: state.role,
      displayName: state.displayName,
      locale: state.locale,
      familyId: claims.fid,
    };
  }

  /**
   * A session for a user another provider proved (a wallet signature), in the caller's transaction:
   * recorded as `user_registered` for a new account and as `login` otherwise, as register and login do.
   */
  async signInProven(m: EntityManager, user: User, created: boolean): Promise<SessionBundle> {
    if (user.deletedAt) throw forbidden("This account was deleted", "ACCOUNT_DELETED");
    const userId = user.id;
    if (created)
      await this.deps.domainLog?.record(m, "user_registered", { userId, upgradedFromGuest: false }, { userId });
    else await this.deps.domainLog?.record(m, "login", { userId }, { userId });
    return this.issueSession(m, user);
  }

  private async issueSession(m: EntityManager, user: User, familyId?: string): Promise<SessionBundle> {
    const { token, familyId: fid } = await issueRefreshToken(m, user.id, familyId);
    return {
      user: toSelfView(user),
      accessToken: signAccessToken(this.deps.jwtSecret, { sub: user.id, role: user.role, ver: user.tokenVersion, fid }),
      refreshToken: token,
      expiresIn: ACCESS_TOKEN_TTL_SEC,
    };
  }
}

function accountLocked(retryAfterSec: number) {
  return new AppError(429, "ACCOUNT_LOCKED", `Too many failed logins; try again in ${retryAfterSec} s`, undefined, {
    "Retry-After": String(retryAfterSec),
  }).withParams({ seconds: retryAfterSec });
}

function accountThrottled(retryAfterSec: number) {
  return new AppError(
    429,
    "ACCOUNT_THROTTLED",
    `Too many failed logins for this account; try again in ${retryAfterSec} s`,
    undefined,
    { "Retry-After": String(retryAfterSec) },
  ).withParams({ seconds: retryAfterSec });
}
