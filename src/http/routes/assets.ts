import { z } from "zod";
import type { Services } from "../../services";
import { assetBytesServed, assetRangeRequests } from "../../services/asset-access";
import type { DeliverableAsset } from "../../services/games";
import { AppError, forbidden, unauthorized } from "../../services/errors";
import type { Api } from "../api";
import { bearerToken } from "../auth-middleware";
import { offloadToNginx, sendAssetFile, type ServedInfo } from "../range-response";

const AssetId = z.object({ assetId: z.uuid() });
const Signed = z.object({
  sid: z.uuid().optional(),
  exp: z.coerce.number().int().optional(),
  sig: z.string().max(64).optional(),
});

/** Game assets for live sessions: RFC 9110 ranges and conditionals, or a short-lived signed URL. */
export function registerAssetRoutes(api: Api, services: Services, accelRedirectPrefix?: string) {
  const tags = ["assets"];

  api.route({
    method: "get",
    path: "/api/assets/:assetId",
    summary:
      "Stream an asset of the session's game (Range, If-Range, If-None-Match, HEAD). Bearer session token, or a signed URL's sid/exp/sig",
    tags,
    security: ["sessionToken"],
    params: AssetId,
    query: Signed,
    responses: {
      200: {
        description: "The whole file",
        schema: z.string().openapi({ format: "binary" }),
        contentType: "application/octet-stream",
      },
      206: {
        description: "Partial content (one range, or multipart/byteranges)",
        schema: z.string(),
        contentType: "application/octet-stream",
      },
      304: { description: "Not modified" },
      401: { description: "No valid token, or the session has ended" },
      403: { description: "The asset belongs to another game" },
      416: { description: "Range not satisfiable (Content-Range: bytes */size)" },
    },
    handler: async (req, res) => {
      const asset = await authorisedAsset(services, req.valid.params.assetId, bearerToken(req), req.valid.query);
      if (accelRedirectPrefix) {
        offloadToNginx(res, accelRedirectPrefix, asset.relativePath, asset.contentType);
        assetRangeRequests.inc({ kind: "offloaded" });
        return;
      }
      sendAssetFile(
        req,
        res,
        {
          path: asset.absolutePath,
          size: asset.size,
          contentType: asset.contentType,
          etag: `"${asset.sha256}"`,
          lastModified: asset.updatedAt,
        },
        recordServed,
      );
    },
  });

  api.route({
    method: "get",
    path: "/api/assets/:assetId/access",
    summary:
      "For nginx's auth_request in the production asset mode (deploy/nginx): 204 with the file's place under ASSET_STORAGE_ROOT when the credential (as for GET /api/assets/{assetId}) may read the asset. nginx refuses it from outside",
    tags,
    security: ["sessionToken"],
    params: AssetId,
    query: Signed,
    responses: {
      204: { description: "Allowed: X-Asset-Path names the file under ASSET_STORAGE_ROOT" },
      401: { description: "No valid token, or the session has ended" },
      403: { description: "The asset belongs to another game, or does not exist" },
    },
    handler: async (req, res) => {
      const { assetId } = req.valid.params;
      let asset: DeliverableAsset;
      try {
        asset = await authorisedAsset(services, assetId, bearerToken(req), req.valid.query);
      } catch (err) {
        // auth_request passes on only 401 and 403 (anything else becomes nginx's 500).
        if (err instanceof AppError && err.status === 404) throw forbidden("No such asset", "ASSET_NOT_FOUND");
        throw err;
      }
      res.status(204).set({ "X-Asset-Path": asset.relativePath, "Cache-Control": "no-store" }).end();
    },
  });

  api.route({
    method: "get",
    path: "/api/assets/:assetId/url",
    summary:
      "A signed URL (valid ≤ 60 s, and only while the session lives) for media elements that cannot send headers",
    tags,
    security: ["sessionToken"],
    params: AssetId,
    responses: {
      200: { description: "Signed URL", schema: z.object({ url: z.string(), expiresAt: z.iso.datetime() }) },
    },
    handler: async (req, res) => {
      const token = bearerToken(req);
      if (!token) throw unauthorized("Send Authorization: Bearer <sessionToken>", "SESSION_TOKEN_REQUIRED");
      res.json(await services.assets.signedUrl(token, req.valid.params.assetId));
    },
  });
}

/** The asset, when the bearer session token or the signed URL's sid/exp/sig may read it. */
function authorisedAsset(
  services: Services,
  assetId: string,
  token: string | undefined,
  { sid, exp, sig }: z.infer<typeof Signed>,
): Promise<DeliverableAsset> {
  if (token) return services.assets.byToken(token, assetId);
  if (sid && exp && sig) return services.assets.bySignature(assetId, { sid, exp, sig });
  throw unauthorized("Send Authorization: Bearer <sessionToken> or use a signed URL", "SESSION_TOKEN_REQUIRED");
}

function recordServed(info: ServedInfo) {
  assetBytesServed.inc(info.bytes);
  const kind =
    info.status === 304
      ? "not_modified"
      : info.status === 416
        ? "unsatisfiable"
        : info.ranges > 1
          ? "multipart"
          : info.ranges === 1
            ? "single"
            : "full";
  assetRangeRequests.inc({ kind });
}
