import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from "typeorm";

/** A file of a game, stored under ASSET_STORAGE_ROOT and served only to live sessions of that game. */
@Entity({ name: "assets" })
export class Asset {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Index("assets_game_idx")
  @Column({ name: "game_id", type: "uuid" })
  gameId!: string;

  /** The name shown to clients (e.g. "music.ogg"). */
  @Column({ type: "varchar", length: 255 })
  name!: string;

  /** Relative to ASSET_STORAGE_ROOT; chosen by the server, never by uploaders. */
  @Column({ type: "varchar", length: 512 })
  path!: string;

  @Column({ name: "content_type", type: "varchar", length: 127 })
  contentType!: string;

  @Column({ type: "bigint" })
  size!: number;

  @Column({ type: "char", length: 64 })
  sha256!: string;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;

  @UpdateDateColumn({ name: "updated_at", type: "timestamptz" })
  updatedAt!: Date;
}
