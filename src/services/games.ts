import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { DataSource } from "typeorm";
import { Asset, Game } from "../entities";
import { AppError, conflict, forbidden, isUniqueViolation, notFound } from "./errors";

export interface GameView {
  id: string;
  slug: string;
  title: string;
  version: string;
  pricePerMinute: number;
  assets: Array<{ id: string; name: string; contentType: string; size: number; sha256: string; updatedAt: string }>;
}

/** An asset ready to stream: the absolute path is proven to be inside the storage root. */
export interface DeliverableAsset {
  id: string;
  gameId: string;
  absolutePath: string;
  /** Under ASSET_STORAGE_ROOT, for an X-Accel-Redirect to nginx. */
  relativePath: string;
  size: number;
  contentType: string;
  sha256: string;
  updatedAt: Date;
}

/** Games, their assets on disk, and uploads of new assets. */
export class GameService {
  /**
   * Asset rows never change once written (an upload makes a new row), so the
   * per-request lookup of range requests is cached; bounded, cleared when full.
   */
  private readonly assetCache = new Map<string, Asset>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly storageRoot: string,
    private readonly uploadLimitBytes: number,
  ) {}

  async list(): Promise<GameView[]> {
    const games = await this.dataSource.getRepository(Game).find({ order: { title: "ASC" } });
    const assets = await this.dataSource.getRepository(Asset).find({ order: { name: "ASC" } });
    return games.map((g) =>
      view(
        g,
        assets.filter((a) => a.gameId === g.id),
      ),
    );
  }

  async get(id: string): Promise<GameView> {
    const game = await this.dataSource.getRepository(Game).findOne({ where: { id } });
    if (!game) throw notFound("No such game", "GAME_NOT_FOUND");
    return view(
      game,
      await this.dataSource.getRepository(Asset).find({ where: { gameId: id }, order: { name: "ASC" } }),
    );
  }

  /** The game with this slug (a room finds its own game, e.g. `whack`), or null. */
  async findBySlug(slug: string): Promise<GameView | null> {
    const game = await this.dataSource.getRepository(Game).findOne({ where: { slug } });
    return game ? this.get(game.id) : null;
  }

  async create(input: { slug: string; title: string; version: string; pricePerMinute: number }): Promise<GameView> {
    try {
      return view(await this.dataSource.getRepository(Game).save(input), []);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict("SLUG_TAKEN", "A game with this slug exists");
      throw err;
    }
  }

  /**
   * Streams an upload to disk under a server-chosen name (hashing as it goes,
   * never holding it in memory), then records it. 413 past the size limit.
   */
  async addAsset(
    gameId: string,
    input: { name: string; contentType: string; body: Readable },
    limit = this.uploadLimitBytes,
  ) {
    await this.get(gameId);
    const relative = path.join(gameId, `${randomUUID()}${safeExtension(input.name)}`);
    const absolute = this.resolveInside(relative);
    fs.mkdirSync(path.dirname(absolute), { recursive: true });
    const hash = createHash("sha256");
    let size = 0;
    try {
      await pipeline(
        input.body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            size += chunk.length;
            if (size > limit) {
              throw new AppError(413, "PAYLOAD_TOO_LARGE", `Assets are limited to ${limit} bytes`).withParams({
                what: "asset",
                limit,
              });
            }
            hash.update(chunk);
            yield chunk;
          }
        },
        fs.createWriteStream(absolute, { flags: "wx" }),
      );
    } catch (err) {
      fs.rmSync(absolute, { force: true });
      throw err;
    }
    const asset = await this.dataSource.getRepository(Asset).save({
      gameId,
      name: input.name,
      path: relative,
      contentType: input.contentType,
      size,
      sha256: hash.digest("hex"),
    });
    return { id: asset.id, name: asset.name, contentType: asset.contentType, size, sha256: asset.sha256 };
  }

  /** The asset if it belongs to `gameId` (403 for another game's asset, 404 if unknown). */
  async deliverable(assetId: string, gameId: string): Promise<DeliverableAsset> {
    let asset = this.assetCache.get(assetId);
    if (!asset) {
      const row = await this.dataSource.getRepository(Asset).findOne({ where: { id: assetId } });
      if (!row) throw notFound("No such asset", "ASSET_NOT_FOUND");
      if (this.assetCache.size >= 10_000) this.assetCache.clear();
      this.assetCache.set(assetId, (asset = row));
    }
    if (asset.gameId !== gameId) throw forbidden("This session's game does not include this asset", "WRONG_GAME");
    return {
      id: asset.id,
      gameId: asset.gameId,
      absolutePath: this.resolveInside(asset.path),
      relativePath: asset.path,
      size: Number(asset.size),
      contentType: asset.contentType,
      sha256: asset.sha256,
      updatedAt: asset.updatedAt,
    };
  }

  /** Resolves a stored relative path, refusing anything that would leave the storage root. */
  resolveInside(relative: string): string {
    const root = path.resolve(this.storageRoot);
    const absolute = path.resolve(root, relative);
    if (!absolute.startsWith(root + path.sep)) throw forbidden("Asset path outside the storage root", "BAD_ASSET_PATH");
    return absolute;
  }
}

function safeExtension(name: string): string {
  const ext = path.extname(name).toLowerCase();
  return /^\.[a-z0-9]{1,10}$/.test(ext) ? ext : "";
}

function view(game: Game, assets: Asset[]): GameView {
  return {
    id: game.id,
    slug: game.slug,
    title: game.title,
    version: game.version,
    pricePerMinute: game.pricePerMinute,
    assets: assets.map((a) => ({
      id: a.id,
      name: a.name,
      contentType: a.contentType,
      size: Number(a.size),
      sha256: a.sha256,
      updatedAt: a.updatedAt.toISOString(),
    })),
  };
}
