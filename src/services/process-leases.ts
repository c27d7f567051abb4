import { randomUUID } from "node:crypto";
import type { Presence } from "@colyseus/core";

/**
 * Process liveness. Every process holds a lease in presence (Redis in cluster
 * mode, memory in embedded mode), renewed well before its short TTL runs out:
 * a process whose lease is gone is dead (killed, frozen, cut off), and what it
 * was responsible for (rows tagged with its id, queue markers) can be cleaned up
 * by any other process. Our own id, not Colyseus's processId: services are wired
 * before the matchmaker starts, and rows must be tagged from the first one.
 */
export class ProcessLeases {
  readonly processId = randomUUID();

  constructor(
    private readonly presence: Presence,
    private readonly keyPrefix: string,
    readonly ttlSec: number,
  ) {}

  /** Takes or extends this process's lease, and lists the process so its death can be noticed. */
  async renew(): Promise<void> {
    await this.presence.setex(this.leaseKey(this.processId), "1", this.ttlSec);
    await this.presence.sadd(this.registryKey(), this.processId);
  }

  /** The ids among `processIds` whose lease is gone; never this process itself. */
  async dead(processIds: Iterable<string>): Promise<string[]> {
    const ids = [...new Set(processIds)].filter((id) => id !== this.processId);
    const leases = await Promise.all(ids.map((id) => this.presence.get(this.leaseKey(id))));
    return ids.filter((_, i) => leases[i] === null || leases[i] === undefined);
  }

  /** Processes that held a lease once and lost it. */
  async deadRegistered(): Promise<string[]> {
    return this.dead(await this.presence.smembers(this.registryKey()));
  }

  /** Drops a dead process from the list once what it left is cleaned up. */
  async forget(processId: string): Promise<void> {
    await this.presence.srem(this.registryKey(), processId);
  }

  private leaseKey(processId: string) {
    return `${this.keyPrefix}process-lease:${processId}`;
  }

  private registryKey() {
    return `${this.keyPrefix}processes`;
  }
}
