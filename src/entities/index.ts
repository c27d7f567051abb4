import { RefreshToken } from "./RefreshToken";
import { User } from "./User";
import { VerificationCode } from "./VerificationCode";

/** Every entity the data source knows; later domains add theirs here. */
export const entities = [User, RefreshToken, VerificationCode];

export { RefreshToken, User, VerificationCode };
export type { Role } from "./User";
export type { VerificationChannel } from "./VerificationCode";
