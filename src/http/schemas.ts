import { z } from "zod";
import { ROLES } from "../entities/User";
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

/** 2–32 visible characters. */
export const DisplayName = CleanText(2, 32);
