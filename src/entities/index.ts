import { Asset } from "./Asset";
import { Ban } from "./Ban";
import { Block } from "./Block";
import { Call } from "./Call";
import { Game } from "./Game";
import { LedgerEntry } from "./LedgerEntry";
import { Leaderboard } from "./Leaderboard";
import { LeaderboardRecord } from "./LeaderboardRecord";
import { Match } from "./Match";
import { MatchMessage } from "./MatchMessage";
import { ModerationEvent } from "./ModerationEvent";
import { PlaySession } from "./PlaySession";
import { Purchase } from "./Purchase";
import { RefreshToken } from "./RefreshToken";
import { Report } from "./Report";
import { Stream } from "./Stream";
import { StreamMessage } from "./StreamMessage";
import { StripeDeferredEvent } from "./StripeDeferredEvent";
import { StripeEvent } from "./StripeEvent";
import { TokenPack } from "./TokenPack";
import { User } from "./User";
import { VerificationCode } from "./VerificationCode";
import { Wallet } from "./Wallet";
import { WhackRound } from "./WhackRound";
import { WhackRoundHit } from "./WhackRoundHit";
import { WhackRoundMole } from "./WhackRoundMole";
import { WhackRoundPlayer } from "./WhackRoundPlayer";

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
  StripeDeferredEvent,
  Stream,
  StreamMessage,
  Game,
  Asset,
  PlaySession,
  Call,
  Match,
  MatchMessage,
  Block,
  Report,
  Ban,
  ModerationEvent,
  Leaderboard,
  LeaderboardRecord,
  WhackRound,
  WhackRoundPlayer,
  WhackRoundMole,
  WhackRoundHit,
];

export { Asset, Game, PlaySession };
export { Ban, Block, Call, Match, MatchMessage, ModerationEvent, Report, StreamMessage };
export { LedgerEntry, Purchase, RefreshToken, Stream, StripeEvent, TokenPack, User, VerificationCode, Wallet };
export { StripeDeferredEvent };
export { Leaderboard, LeaderboardRecord };
export { WhackRound, WhackRoundHit, WhackRoundMole, WhackRoundPlayer };
export type { WhackRoundStatus } from "./WhackRound";
export type { ScoreOperator, SortOrder } from "./Leaderboard";
export { OPERATORS, SORT_ORDERS } from "./Leaderboard";
export type { BanSource } from "./Ban";
export type { CallChoice, CallEndReason, CallPhase } from "./Call";
export type { PlaySessionStatus } from "./PlaySession";
export type { ReportReason, ReportStatus } from "./Report";
export { REPORT_REASONS } from "./Report";
export type { PurchaseStatus } from "./Purchase";
export type { StreamStatus } from "./Stream";
export type { Role } from "./User";
export type { VerificationChannel } from "./VerificationCode";
