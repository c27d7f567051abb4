import { Column, Entity, PrimaryColumn } from "typeorm";

/** The valid hit of a mole (table `whack_hits`): one winner per mole, hence the key. */
@Entity({ name: "whack_hits" })
export class WhackRoundHit {
  @PrimaryColumn({ name: "round_id", type: "uuid" })
  roundId!: string;

  @PrimaryColumn({ name: "mole_id", type: "integer" })
  moleId!: number;

  @Column({ name: "user_id", type: "uuid" })
  userId!: string;

  @Column({ type: "timestamptz" })
  at!: Date;

  @Column({ type: "integer" })
  points!: number;
}
