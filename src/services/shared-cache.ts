import type { Presence } from "@colyseus/core";

/**
 * A per-process read cache whose entries any process can invalidate: the
 * invalidation goes through presence pub/sub (Redis in cluster mode) and is
 * applied locally before `invalidate` returns. Concurrent misses share one
 * load; a load that an invalidation overtook is not cached. The TTL only
 * bounds the damage of a message lost while Redis reconnects.
 */
export class SharedCache<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number }>();
  private readonly loads = new Map<string, { promise: Promise<T>; stale: boolean }>();
  private readonly onMessage = (key: string) => this.drop(key);

  constructor(
    private readonly presence: Presence,
    private readonly channel: string,
    private readonly load: (key: string) => Promise<T>,
    private readonly ttlMs = 60_000,
    private readonly maxEntries = 100_000,
  ) {}

  async start(): Promise<void> {
    await this.presence.subscribe(this.channel, this.onMessage);
  }

  stop(): void {
    this.presence.unsubscribe(this.channel, this.onMessage);
  }

  get(key: string): Promise<T> {
    const cached = this.entries.get(key);
    if (cached && cached.expiresAt > Date.now()) return Promise.resolve(cached.value);
    const inFlight = this.loads.get(key);
    if (inFlight) return inFlight.promise;
    const load = { promise: this.load(key), stale: false };
    this.loads.set(key, load);
    const settle = () => {
      if (this.loads.get(key) === load) this.loads.delete(key);
    };
    load.promise.then((value) => {
      settle();
      if (load.stale) return;
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      this.entries.set(key, { value, expiresAt: Date.now() + this.ttlMs });
    }, settle);
    return load.promise;
  }

  /** Call after committing a change that the cached value depends on. */
  async invalidate(key: string): Promise<void> {
    this.drop(key);
    await this.presence.publish(this.channel, key);
  }

  private drop(key: string) {
    this.entries.delete(key);
    const load = this.loads.get(key);
    if (load) {
      load.stale = true;
      this.loads.delete(key);
    }
  }
}
