import type { DataSource } from "typeorm";
import { User } from "../entities";

export const DEMO_DEVICE_ID = "demo-device-0001";

/**
 * Demo content for a fresh embedded install. Idempotent: every step inserts
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
  });
  return { created };
}
