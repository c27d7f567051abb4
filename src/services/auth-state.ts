import type { Presence } from "@colyseus/core";
import type { DataSource } from "typeorm";
import { type Role, User } from "../entities";

/** What every authenticated request needs to know about its user. */
export interface AuthState {
  tokenVersion: number;
  role: Role;
  displayName: string;
  deleted: boolean;
}

const CHANNEL = "arcadia:auth-state";

/**
 * Per-process cache of each user's token version, role and name, so checking
 * an access token costs no database round trip. Any change (logout-all,
 * password change, role change, ban, delete) calls `invalidate`, which drops
 * the entry on every process through presence pub/sub (Redis in cluster mode)
 * before the changing request answers. The TTL only bounds the damage of a
 * message lost while Redis reconnects.
 */
export class AuthStateCache {
  private readonly entries = new Map<string, { state: AuthState | null; expiresAt: number }>();
  /** Loads in flight, shared by concurrent callers; `stale` when invalidated meanwhile. */
  private readonly loads = new Map<string, { promise: Promise<AuthState | null>; stale: boolean }>();
  private readonly onMessage = (userId: string) => this.drop(userId);

  constructor(
    private readonly dataSource: DataSource,
    private readonly presence: Presence,
    private readonly ttlMs = 60_000,
    private readonly maxEntries = 100_000,
  ) {}

  async start(): Promise<void> {
    await this.presence.subscribe(CHANNEL, this.onMessage);
  }

  stop(): void {
    this.presence.unsubscribe(CHANNEL, this.onMessage);
  }

  /** The user's state, or null when there is no such user. */
  get(userId: string): Promise<AuthState | null> {
    const cached = this.entries.get(userId);
    if (cached && cached.expiresAt > Date.now()) return Promise.resolve(cached.state);
    const inFlight = this.loads.get(userId);
    if (inFlight) return inFlight.promise;
    const load = { promise: this.load(userId), stale: false };
    this.loads.set(userId, load);
    const settle = () => {
      if (this.loads.get(userId) === load) this.loads.delete(userId);
    };
    load.promise.then((state) => {
      settle();
      if (load.stale) return;
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      this.entries.set(userId, { state, expiresAt: Date.now() + this.ttlMs });
    }, settle);
    return load.promise;
  }

  /** Call after committing a change to the user's auth state. */
  async invalidate(userId: string): Promise<void> {
    this.drop(userId);
    await this.presence.publish(CHANNEL, userId);
  }

  private drop(userId: string) {
    this.entries.delete(userId);
    const load = this.loads.get(userId);
    if (load) {
      load.stale = true;
      this.loads.delete(userId);
    }
  }

  private async load(userId: string): Promise<AuthState | null> {
    const user = await this.dataSource.getRepository(User).findOne({
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
  }
}
