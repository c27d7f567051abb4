import {
  compareRankKeys,
  type RankEntry,
  type RankIndex,
  type RankIndexes,
  type RankKey,
  type RankScope,
  type RankSource,
  scopeId,
} from "./rank-index";
import { OrderStatisticTree } from "./rank-tree";

/** Rows per rebuild query: bounded memory per step, few round trips. */
export const REBUILD_BATCH = 5000;

/** One period's ranks in this process: the treap in rank order plus each user's current entry. */
export class MemoryRankIndex implements RankIndex {
  private readonly tree: OrderStatisticTree<RankEntry>;
  private readonly byUser = new Map<string, RankEntry>();
  private readonly compare: (a: RankEntry, b: RankEntry) => number;
  /** While a rebuild runs, entries only gather here (newest version per user); `finish` sorts them into the tree. */
  private staging: boolean;

  constructor(scope: Pick<RankScope, "sortOrder">, options: { staging?: boolean } = {}) {
    const order = scope.sortOrder;
    this.compare = (a, b) => compareRankKeys(order, a, b);
    this.tree = new OrderStatisticTree<RankEntry>(this.compare);
    this.staging = options.staging ?? false;
  }

  /** Synchronous core of upsert (rebuild batches and writes use it directly). */
  put(entry: RankEntry): void {
    const current = this.byUser.get(entry.userId);
    if (current && current.version >= entry.version) return;
    this.byUser.set(entry.userId, entry);
    if (this.staging) return;
    if (current) this.tree.remove(current);
    this.tree.insert(entry);
  }

  /** Ends the rebuild: one sort and an O(n) load instead of n inserts. */
  finish(): void {
    if (!this.staging) return;
    this.tree.load([...this.byUser.values()].sort(this.compare));
    this.staging = false;
  }

  async upsert(entry: RankEntry): Promise<void> {
    this.put(entry);
  }

  async remove(userId: string): Promise<void> {
    const current = this.byUser.get(userId.toLowerCase());
    if (!current) return;
    this.tree.remove(current);
    this.byUser.delete(current.userId);
  }

  /** Ids are keyed as PostgreSQL prints uuids (lowercase); a caller's uppercase id finds the same user. */
  async rankOf(userId: string): Promise<number | undefined> {
    const current = this.byUser.get(userId.toLowerCase());
    return current ? this.tree.countBefore(current) + 1 : undefined;
  }

  async countBefore(key: RankKey, inclusive: boolean): Promise<number> {
    return this.tree.countBefore(key as RankEntry, inclusive);
  }

  async entriesByRank(fromRank: number, count: number): Promise<string[]> {
    return this.tree.slice(fromRank - 1, count).map((e) => e.userId);
  }

  async count(): Promise<number> {
    return this.tree.size;
  }
}

interface Slot {
  index: MemoryRankIndex;
  /** Pending while the rebuild runs; writes already go to `index` meanwhile. */
  built: Promise<void>;
  usedAt: number;
}

/**
 * In-process indexes (embedded mode, or PostgreSQL without Redis: one process). Built lazily
 * from the database on first use of a (board, period); a period unused for `idleMs` is dropped
 * (least recently used first, checked on each open) and rebuilt if read again.
 *
 * Writes during a rebuild are not lost: the slot exists from the rebuild's first query on, so a
 * write committed after the scan passed its row joins the scan's rows (sorted into the treap
 * together at the end), and entries carry the row version, so the scan and such writes converge
 * on the newest row in any order.
 */
export class MemoryRankIndexes implements RankIndexes {
  readonly mode = "memory" as const;
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly options: {
      idleMs?: number;
      onRebuild?: (mode: "memory") => void;
      now?: () => number;
    } = {},
  ) {}

  async open(scope: RankScope, source: RankSource): Promise<RankIndex> {
    const now = this.options.now?.() ?? Date.now();
    this.evictIdle(now);
    const id = scopeId(scope);
    let slot = this.slots.get(id);
    if (!slot) {
      const index = new MemoryRankIndex(scope, { staging: true });
      const created: Slot = { index, built: rebuild(index, source), usedAt: now };
      slot = created;
      this.slots.set(id, created);
      this.options.onRebuild?.("memory");
      // A failed rebuild (database down) leaves no half-built index behind: the next read retries.
      created.built.catch(() => {
        if (this.slots.get(id) === created) this.slots.delete(id);
      });
    }
    slot.usedAt = now;
    await slot.built;
    return slot.index;
  }

  async apply(scope: RankScope, entry: RankEntry): Promise<void> {
    this.slots.get(scopeId(scope))?.index.put(entry);
  }

  async dropBoard(boardId: string): Promise<void> {
    for (const id of [...this.slots.keys()]) if (id.startsWith(`${boardId}:`)) this.slots.delete(id);
  }

  /** How many (board, period) indexes this process holds (tests, metrics). */
  get size(): number {
    return this.slots.size;
  }

  private evictIdle(now: number) {
    const idleMs = this.options.idleMs ?? 10 * 60_000;
    for (const [id, slot] of this.slots) if (now - slot.usedAt > idleMs) this.slots.delete(id);
  }
}

async function rebuild(index: MemoryRankIndex, source: RankSource): Promise<void> {
  let after: string | undefined;
  for (;;) {
    const rows = await source(after, REBUILD_BATCH);
    for (const row of rows) index.put(row);
    if (rows.length < REBUILD_BATCH) return index.finish();
    after = rows[rows.length - 1].userId;
  }
}
