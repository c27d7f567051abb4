import { Asset } from "./Asset";
import { Game } from "./Game";
import { LedgerEntry } from "./LedgerEntry";
import { PlaySession } from "./PlaySession";
import { Purchase } from "./Purchase";
import { RefreshToken } from "./RefreshToken";
import { Stream } from "./Stream";
import { StripeEvent } from "./StripeEvent";
import { TokenPack } from "./TokenPack";
import { User } from "./User";
import { VerificationCode } from "./VerificationCode";
import { Wallet } from "./Wallet";

/** Every entity the data source knows; later domains add theirs here. */
export const entities = [
  User,
  RefreshToken,
  VerificationCode,
  Wallet,
  LedgerEntry,
  TokenPack,
  Purchase,
  StripeEvent,
  Stream,
  Game,
  Asset,
  PlaySession,
];

export { Asset, Game, PlaySession };
export { LedgerEntry, Purchase, RefreshToken, Stream, StripeEvent, TokenPack, User, VerificationCode, Wallet };
export type { PlaySessionStatus } from "./PlaySession";
export type { PurchaseStatus } from "./Purchase";
export type { StreamStatus } from "./Stream";
export type { Role } from "./User";
export type { VerificationChannel } from "./VerificationCode";
