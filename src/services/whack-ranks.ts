/** A player's totals before ranking. */
export interface UnrankedResult {
  userId: string;
  score: number;
  hits: number;
}

/**
 * Ranks within a round: higher score first, then more hits, then user id (so no two players
 * share a rank: 1..n). The order is total, so every process ranks a round the same way.
 */
export function rankResults<T extends UnrankedResult>(results: T[]): Array<T & { rank: number }> {
  return [...results]
    .sort((a, b) => b.score - a.score || b.hits - a.hits || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0))
    .map((r, i) => ({ ...r, rank: i + 1 }));
}
