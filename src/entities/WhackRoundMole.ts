import { Column, Entity, PrimaryColumn } from "typeorm";

/** A mole spawned in a round (table `whack_moles`). */
@Entity({ name: "whack_moles" })
export class WhackRoundMole {
  @PrimaryColumn({ name: "round_id", type: "uuid" })
  roundId!: string;

  @PrimaryColumn({ name: "mole_id", type: "integer" })
  moleId!: number;

  @Column({ type: "smallint" })
  hole!: number;

  @Column({ type: "varchar", length: 8 })
  kind!: "normal" | "golden" | "bomb";

  @Column({ name: "spawn_at", type: "timestamptz" })
  spawnAt!: Date;

  @Column({ name: "despawn_at", type: "timestamptz" })
  despawnAt!: Date;
}
