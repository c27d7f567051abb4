import { z } from "zod";
import { ROLES } from "../entities/User";
import { canonicalTag, MAX_TAG_LENGTH } from "../services/language-tags";
import { CleanText } from "../services/text";
import "./openapi";

/** Response and input schemas shared by several routers. */

export const UserSchema = z
  .object({
    id: z.uuid(),
    email: z.string().optional(),
    displayName: z.string(),
    role: z.enum(ROLES),
    isGuest: z.boolean(),
    createdAt: z.iso.datetime(),
    emailVerified: z.boolean().optional(),
    phone: z.string().optional(),
    phoneVerified: z.boolean().optional(),
    locale: z
      .string()
      .nullable()
      .optional()
      .openapi({ description: "preferred language (BCP 47); the user and admins only" }),
  })
  .openapi("User");

export const SessionSchema = z
  .object({
    user: UserSchema,
    accessToken: z.string(),
    refreshToken: z.string(),
    expiresIn: z.number().int().openapi({ description: "Access token lifetime in seconds" }),
  })
  .openapi("Session");

export const UserIdParams = z.object({ id: z.uuid() });

export { CleanText };

/** A BCP 47 language tag (language, optional script, optional region), answered in canonical case. */
export const LanguageTag = z
  .string()
  .max(MAX_TAG_LENGTH)
  .transform((tag, ctx) => {
    const canonical = canonicalTag(tag);
    if (!canonical) ctx.addIssue({ code: "custom", message: "a BCP 47 language tag such as en, pt-BR or zh-Hant" });
    return canonical ?? tag;
  })
  .openapi({ type: "string", example: "pt-BR" });

/** 2–32 visible characters. */
export const DisplayName = CleanText(2, 32);

/** A page of messages, newest first: `before` is the previous page's `nextCursor` (a message id). */
export const MessagePageQuery = z.object({
  before: z
    .string()
    .regex(/^\d{1,18}$/)
    .optional()
    .openapi({ description: "nextCursor of the previous page" }),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

/** A page ordered by time, newest first: `before` is the previous page's `nextCursor` (a timestamp). */
export const TimePageQuery = z.object({
  before: z.iso
    .datetime()
    // PostgreSQL's timestamps start at year 1 (ISO year 0000 is 1 BC).
    .refine((s) => Number(s.slice(0, 4)) >= 1, "year must be 0001 or later")
    .optional()
    .openapi({ description: "nextCursor of the previous page" }),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
