import { z } from "zod";
import type { Services } from "../../services";
import { badRequest } from "../../services/errors";
import type { Api } from "../api";
import { requireAuth, requireRole } from "../auth-middleware";

const AssetSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    contentType: z.string(),
    size: z.number().int(),
    sha256: z.string(),
    updatedAt: z.iso.datetime(),
  })
  .openapi("Asset");
const GameSchema = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    title: z.string(),
    version: z.string(),
    pricePerMinute: z.number().int().openapi({ description: "Tokens per minute; 0 = free" }),
    assets: z.array(AssetSchema),
  })
  .openapi("Game");
const GameId = z.object({ id: z.uuid() });

/** The catalogue: games and their assets; admins add both. */
export function registerGameRoutes(api: Api, services: Services) {
  const admin = [requireAuth(services.auth), requireRole("admin")];
  const tags = ["games"];

  api.route({
    method: "get",
    path: "/api/games",
    summary: "Games with their price and assets",
    tags,
    responses: { 200: { description: "Games", schema: z.object({ games: z.array(GameSchema) }) } },
    handler: async (_req, res) => res.json({ games: await services.games.list() }),
  });

  api.route({
    method: "get",
    path: "/api/games/:id",
    summary: "One game",
    tags,
    params: GameId,
    responses: { 200: { description: "The game", schema: GameSchema }, 404: { description: "No such game" } },
    handler: async (req, res) => res.json(await services.games.get(req.valid.params.id)),
  });

  api.route({
    method: "post",
    path: "/api/games",
    summary: "Add a game (admin)",
    tags,
    security: ["bearer"],
    before: admin,
    body: z.object({
      slug: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/),
      title: z.string().trim().min(1).max(120),
      version: z
        .string()
        .regex(/^[\w.+-]{1,32}$/)
        .default("1.0.0"),
      pricePerMinute: z.number().int().min(0).max(10_000),
    }),
    responses: { 201: { description: "Created", schema: GameSchema }, 409: { description: "Slug taken" } },
    handler: async (req, res) => res.status(201).json(await services.games.create(req.valid.body)),
  });

  api.route({
    method: "post",
    path: "/api/games/:id/assets",
    summary: "Upload an asset (admin): the raw file as the body, its type as Content-Type, its name in ?name=",
    tags,
    security: ["bearer"],
    before: admin,
    params: GameId,
    query: z.object({ name: z.string().regex(/^[\w.-]{1,255}$/, "a file name: letters, digits, _ . -") }),
    streamBody: { contentType: "application/octet-stream", schema: z.string().openapi({ format: "binary" }) },
    responses: {
      201: { description: "Stored", schema: AssetSchema.omit({ updatedAt: true }) },
      413: { description: "Larger than ASSET_UPLOAD_LIMIT_MB" },
    },
    handler: async (req, res) => {
      const contentType = req.get("Content-Type")?.split(";")[0].trim();
      if (!contentType || !/^[\w.+-]+\/[\w.+-]+$/.test(contentType))
        throw badRequest("CONTENT_TYPE_REQUIRED", "Send the file's Content-Type");
      const asset = await services.games.addAsset(req.valid.params.id, {
        name: req.valid.query.name,
        contentType,
        body: req,
      });
      res.status(201).json(asset);
    },
  });
}
