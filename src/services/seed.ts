import type { DataSource } from "typeorm";
import { TokenPack, User } from "../entities";

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
export async function seed(dataSource: DataSource): Promise<{ created: string[] }> {
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
  });
  return { created };
}
