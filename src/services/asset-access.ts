import { createHmac, timingSafeEqual } from "node:crypto";
import { Counter } from "prom-client";
import { registry } from "../metrics";
import { unauthorized } from "./errors";
import type { DeliverableAsset, GameService } from "./games";
import type { PlaySessionService } from "./play-sessions";

export const SIGNED_URL_TTL_SEC = 60;

export const assetBytesServed = new Counter({
  name: "assets_bytes_served_total",
  help: "Asset body bytes sent",
  registers: [registry],
});
export const assetRangeRequests = new Counter({
  name: "assets_range_requests_total",
  help: "Asset responses by kind: full, single range, multipart, not satisfiable, not modified",
  labelNames: ["kind"] as const,
  registers: [registry],
});

/**
 * Who may read an asset: the holder of a session token (or of a signed URL
 * made from one) whose session is live, for an asset of that session's game.
 */
export class AssetAccess {
  constructor(
    private readonly play: PlaySessionService,
    private readonly games: GameService,
    private readonly secret: string,
  ) {}

  async byToken(sessionToken: string, assetId: string): Promise<DeliverableAsset> {
    const session = await this.play.authorize(sessionToken);
    return this.games.deliverable(assetId, session.gameId);
  }

  /** A URL valid ≤ 60 s for media elements that cannot send headers; it still dies with the session. */
  async signedUrl(sessionToken: string, assetId: string): Promise<{ url: string; expiresAt: string }> {
    const session = await this.play.authorize(sessionToken);
    await this.games.deliverable(assetId, session.gameId);
    const exp = Math.floor(Date.now() / 1000) + SIGNED_URL_TTL_SEC;
    const sig = this.sign(assetId, session.sessionId, exp);
    return {
      url: `/api/assets/${assetId}?sid=${session.sessionId}&exp=${exp}&sig=${sig}`,
      expiresAt: new Date(exp * 1000).toISOString(),
    };
  }

  async bySignature(assetId: string, q: { sid: string; exp: number; sig: string }): Promise<DeliverableAsset> {
    const expected = Buffer.from(this.sign(assetId, q.sid, q.exp));
    const given = Buffer.from(q.sig);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw unauthorized("Bad signature", "INVALID_SIGNATURE");
    }
    if (q.exp * 1000 < Date.now()) throw unauthorized("This link has expired", "URL_EXPIRED");
    const session = await this.play.authorizeSession(q.sid);
    return this.games.deliverable(assetId, session.gameId);
  }

  private sign(assetId: string, sessionId: string, exp: number): string {
    return createHmac("sha256", this.secret).update(`asset:${assetId}:${sessionId}:${exp}`).digest("base64url");
  }
}
