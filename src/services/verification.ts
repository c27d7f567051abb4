import { createHmac, randomInt, timingSafeEqual } from "node:crypto";
import { type DataSource, IsNull, MoreThan } from "typeorm";
import { User, type VerificationChannel, VerificationCode } from "../entities";
import { AppError, badRequest } from "./errors";
import type { Notifier } from "./notifier";
import type { UserSelfView } from "./user-views";
import { toSelfView } from "./user-views";

export const CODE_TTL_SEC = 10 * 60;
export const CODE_MAX_ATTEMPTS = 5;
export const CODE_RESEND_AFTER_SEC = 60;

/**
 * Email and phone verification: a 6-digit, single-use code valid 10 minutes,
 * at most 5 guesses, one send per minute. Codes are stored as keyed HMACs,
 * so a database dump does not give them away.
 */
export class VerificationService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly notifier: Notifier,
    private readonly hmacKey: string,
  ) {}

  async start(userId: string, channel: VerificationChannel, phone?: string): Promise<{ expiresInSec: number }> {
    const user = await this.dataSource.getRepository(User).findOneOrFail({ where: { id: userId } });
    const target = channel === "email" ? user.email : phone;
    if (!target) {
      throw badRequest(
        channel === "email" ? "NO_EMAIL" : "PHONE_REQUIRED",
        channel === "email" ? "This account has no email address" : "Give the phone number to verify",
      );
    }
    if (channel === "email" && user.emailVerifiedAt)
      throw new AppError(409, "ALREADY_VERIFIED", "Email already verified");
    const codes = this.dataSource.getRepository(VerificationCode);
    const recent = await codes.findOne({
      where: { userId, channel, createdAt: MoreThan(new Date(Date.now() - CODE_RESEND_AFTER_SEC * 1000)) },
      order: { createdAt: "DESC" },
    });
    if (recent) {
      const wait = Math.ceil((recent.createdAt.getTime() + CODE_RESEND_AFTER_SEC * 1000 - Date.now()) / 1000);
      throw new AppError(429, "CODE_RECENTLY_SENT", `A code was just sent; ask again in ${wait} s`, undefined, {
        "Retry-After": String(Math.max(1, wait)),
      }).withParams({ seconds: wait });
    }
    const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
    await this.dataSource.transaction(async (m) => {
      // A new code replaces any earlier one.
      await m.update(VerificationCode, { userId, channel, consumedAt: IsNull() }, { consumedAt: new Date() });
      await m.insert(VerificationCode, {
        userId,
        channel,
        target,
        codeHash: this.digest(code),
        expiresAt: new Date(Date.now() + CODE_TTL_SEC * 1000),
      });
    });
    await this.notifier.send({
      channel,
      to: target,
      subject: "Your Arcadia verification code",
      text: `Your Arcadia verification code is ${code}. It expires in ${CODE_TTL_SEC / 60} minutes.`,
    });
    return { expiresInSec: CODE_TTL_SEC };
  }

  async verify(userId: string, channel: VerificationChannel, code: string): Promise<UserSelfView> {
    const outcome = await this.dataSource.transaction(async (m) => {
      const pending = await m.findOne(VerificationCode, {
        where: { userId, channel, consumedAt: IsNull() },
        order: { createdAt: "DESC" },
        lock: { mode: "pessimistic_write" },
      });
      if (!pending || pending.expiresAt.getTime() <= Date.now()) return "expired" as const;
      if (pending.attempts >= CODE_MAX_ATTEMPTS) return "exhausted" as const;
      const expected = Buffer.from(pending.codeHash, "hex");
      if (!timingSafeEqual(expected, Buffer.from(this.digest(code), "hex"))) {
        await m.increment(VerificationCode, { id: pending.id }, "attempts", 1);
        return pending.attempts + 1 >= CODE_MAX_ATTEMPTS ? ("exhausted" as const) : ("wrong" as const);
      }
      await m.update(VerificationCode, { id: pending.id }, { consumedAt: new Date() });
      const now = new Date();
      await m.update(
        User,
        { id: userId },
        channel === "email" ? { emailVerifiedAt: now } : { phone: pending.target, phoneVerifiedAt: now },
      );
      return toSelfView(await m.findOneOrFail(User, { where: { id: userId } }));
    });
    if (outcome === "expired") throw badRequest("CODE_EXPIRED", "No valid code: ask for a new one");
    if (outcome === "exhausted")
      throw new AppError(429, "CODE_ATTEMPTS_EXCEEDED", "Too many wrong codes: ask for a new one");
    if (outcome === "wrong") throw badRequest("CODE_INVALID", "Wrong code");
    return outcome;
  }

  private digest(code: string): string {
    return createHmac("sha256", this.hmacKey).update(code).digest("hex");
  }
}
