import type { SortOrder } from "../entities";

/**
 * One record as the rank structures see it: its sort key plus `version`, the record's
 * num_score (incremented by every write that changes the row, so it only grows). An entry
 * replaces the user's current one only when its version is higher: writes applied out of order,
 * by two processes or next to a rebuild's scan, converge on the newest row.
 */
export interface RankEntry {
  userId: string;
  score: number;
  subscore: number;
  updatedAtMs: number;
  version: number;
}

/** Where a record sorts, as in a cursor: the position is that of the record with this key. */
export type RankKey = Omit<RankEntry, "version">;

/** One board's period. `generation` (the board's creation time) keeps a re-created board apart. */
export interface RankScope {
  boardId: string;
  generation: number;
  periodStart: Date;
  sortOrder: SortOrder;
}

/** Rows of a period in user-id order, `limit` at a time after `afterUserId`: what a rebuild reads. */
export type RankSource = (afterUserId: string | undefined, limit: number) => Promise<RankEntry[]>;

/** The ranks of one (board, period): positions are 0-based here, ranks 1-based for callers. */
export interface RankIndex {
  /** Applies a committed row; ignored when the index already holds this version or a newer one. */
  upsert(entry: RankEntry): Promise<void>;
  remove(userId: string): Promise<void>;
  /** 1-based rank, undefined when the user has no record. */
  rankOf(userId: string): Promise<number | undefined>;
  /** How many records sort before `key` (and at it, with `inclusive`). */
  countBefore(key: RankKey, inclusive: boolean): Promise<number>;
  /** User ids from the 1-based rank `fromRank`, at most `count`. */
  entriesByRank(fromRank: number, count: number): Promise<string[]>;
  count(): Promise<number>;
}

/** Every (board, period) index of one mode: built on first use, kept up to date by writes. */
export interface RankIndexes {
  readonly mode: "memory" | "redis";
  /** The scope's index, rebuilt from `source` first when missing or lost (concurrent callers share one rebuild). */
  open(scope: RankScope, source: RankSource): Promise<RankIndex>;
  /** A committed write: applied when the scope's index exists or is being built, else left to its rebuild. */
  apply(scope: RankScope, entry: RankEntry): Promise<void>;
  /** Forgets every period of the board (deleted). */
  dropBoard(boardId: string): Promise<void>;
}

/**
 * The total order of records (rank 1 first): score by sort order, higher subscore, earlier
 * updatedAt, then user id as PostgreSQL orders uuids (byte order, which is the string order of
 * their canonical lowercase hex form).
 */
export function compareRankKeys(order: SortOrder, a: RankKey, b: RankKey): number {
  if (a.score !== b.score) return a.score < b.score === (order === "asc") ? -1 : 1;
  if (a.subscore !== b.subscore) return b.subscore > a.subscore ? 1 : -1;
  if (a.updatedAtMs !== b.updatedAtMs) return a.updatedAtMs < b.updatedAtMs ? -1 : 1;
  return a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0;
}

/** The scope as one string (map keys, Redis key parts). */
export function scopeId(scope: RankScope): string {
  return `${scope.boardId}:${scope.generation}:${scope.periodStart.getTime()}`;
}
