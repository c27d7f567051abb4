import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { DataSource } from "typeorm";
import { Game, Leaderboard, type ScoreOperator, TokenPack, User } from "../entities";
import type { GameService } from "./games";
import type { LeaderboardDefinition } from "./leaderboards";
import { whackAssets } from "./whack-assets";

export const DEMO_DEVICE_ID = "demo-device-0001";

export const TOKEN_PACKS = [
  { id: "starter", name: "Starter", tokens: 100, priceCents: 99, currency: "usd" },
  { id: "plus", name: "Plus", tokens: 550, priceCents: 499, currency: "usd" },
  { id: "pro", name: "Pro", tokens: 1200, priceCents: 999, currency: "usd" },
];

/**
 * The catalog (token packs) and demo content for a fresh install. Idempotent: every step inserts
 * only what is missing, so `npm run seed` may run any number of times.
 * Later domains add their steps (games and assets, token packs, languages).
 */
export const DEMO_GAMES = [
  { slug: "demo-arcade", title: "Demo Arcade", version: "1.0.0", pricePerMinute: 0 },
  { slug: "whack-arena-deluxe", title: "Whack Arena Deluxe", version: "2.1.0", pricePerMinute: 2 },
];

/** The whack-a-mole boards; the game alone writes them. */
const whackBoard = (id: string, title: string, operator: ScoreOperator, resetSchedule: string | null) =>
  ({ id, title, sortOrder: "desc", operator, resetSchedule, authoritative: true }) satisfies LeaderboardDefinition;
export const SEEDED_LEADERBOARDS: LeaderboardDefinition[] = [
  whackBoard("whack-daily", "Whack-a-mole: today", "best", "0 0 * * *"),
  whackBoard("whack-weekly", "Whack-a-mole: this week", "best", "0 0 * * 1"),
  whackBoard("whack-alltime", "Whack-a-mole: all time", "best", null),
  whackBoard("whack-moles", "Whack-a-mole: moles hit", "incr", null),
];

/** The whack-a-mole game the `whack` room plays (free), with its generated sprite sheet and sounds. */
export const WHACK_GAME = { slug: "whack", title: "Whack-a-mole", version: "1.0.0", pricePerMinute: 0 };

/** Demo asset files, generated (deterministic bytes) rather than shipped in the repository. */
const DEMO_ASSETS = [
  { name: "loader.js", contentType: "text/javascript", size: 4 * 1024 },
  { name: "music.ogg", contentType: "audio/ogg", size: 3 * 1024 * 1024 + 123 },
];

export async function seed(dataSource: DataSource, games: GameService): Promise<{ created: string[] }> {
  const created: string[] = [];
  await dataSource.transaction(async (manager) => {
    const inserted = await manager
      .createQueryBuilder()
      .insert()
      .into(User)
      .values({ displayName: "Demo Player", isGuest: true, deviceId: DEMO_DEVICE_ID })
      .orIgnore()
      .returning(["id"])
      .execute();
    if (inserted.raw.length > 0) created.push(`user:${DEMO_DEVICE_ID}`);
    const packs = await manager
      .createQueryBuilder()
      .insert()
      .into(TokenPack)
      .values(TOKEN_PACKS)
      .orIgnore()
      .returning(["id"])
      .execute();
    for (const row of packs.raw as Array<{ id: string }>) created.push(`pack:${row.id}`);
    const boards = await manager
      .createQueryBuilder()
      .insert()
      .into(Leaderboard)
      .values(SEEDED_LEADERBOARDS)
      .orIgnore()
      .returning(["id"])
      .execute();
    for (const row of boards.raw as Array<{ id: string }>) created.push(`leaderboard:${row.id}`);
  });
  for (const demo of DEMO_GAMES) {
    if (await dataSource.getRepository(Game).existsBy({ slug: demo.slug })) continue;
    const game = await games.create(demo);
    for (const asset of DEMO_ASSETS) {
      const body = Readable.from(demoBytes(`${demo.slug}/${asset.name}`, asset.size));
      await games.addAsset(game.id, { ...asset, body }, Number.POSITIVE_INFINITY); // trusted content: no upload limit
    }
    created.push(`game:${demo.slug}`);
  }
  if (!(await dataSource.getRepository(Game).existsBy({ slug: WHACK_GAME.slug }))) {
    const game = await games.create(WHACK_GAME);
    for (const { bytes, ...asset } of whackAssets()) {
      await games.addAsset(game.id, { ...asset, body: Readable.from([bytes]) }, Number.POSITIVE_INFINITY);
    }
    created.push(`game:${WHACK_GAME.slug}`);
  }
  return { created };
}

/** `size` bytes of SHA-256 chain output seeded by `label`: non-repeating, so byte offsets are checkable. */
async function* demoBytes(label: string, size: number) {
  let block = createHash("sha256").update(label).digest();
  let left = size;
  while (left > 0) {
    const chunk = Buffer.alloc(Math.min(64 * 1024, left));
    for (let o = 0; o < chunk.length; o += 32) {
      block.copy(chunk, o);
      block = createHash("sha256").update(block).digest();
    }
    left -= chunk.length;
    yield chunk;
  }
}
