import { z } from "zod";
import type { Config } from "../../config";
import type { Services } from "../../services";
import { unauthorized } from "../../services/errors";
import type { Api } from "../api";
import { clientSource } from "../client-source";
import { optionalAuth, principalOf, requireAuth } from "../auth-middleware";
import {
  assertCookieRequestIsNotForged,
  clearSessionCookies,
  readCookies,
  REFRESH_COOKIE,
  setSessionCookies,
} from "../cookies";
import { DisplayName, SessionSchema, UserSchema } from "../schemas";

const Email = z.string().trim().pipe(z.email().max(254));
/** Length and strength are the password policy's job (clear WEAK_PASSWORD errors); this bounds the work. */
const Password = z.string().max(1024);
const Code = z.string().regex(/^\d{6}$/, "six digits");
const tags = ["auth"];

/** POST/GET /api/auth/*: accounts, sessions, verification. */
export function registerAuthRoutes(api: Api, services: Services, config: Config) {
  const { auth, verification } = services;
  const secure = config.isProduction;
  const signedIn = requireAuth(auth);

  api.route({
    method: "post",
    path: "/api/auth/register",
    summary: "Create an account (or, with a guest's bearer token, give the guest an email and password)",
    tags,
    security: [],
    before: [optionalAuth(auth)],
    body: z.object({ email: Email, password: Password, displayName: DisplayName }),
    responses: {
      201: { description: "Registered; refresh cookie set", schema: SessionSchema },
      409: { description: "Email taken, or the bearer's account is not a guest" },
    },
    handler: async (req, res) => {
      const bundle = await auth.register(req.valid.body, req.principal?.userId);
      setSessionCookies(res, bundle, secure);
      res.status(201).json(bundle);
    },
  });

  api.route({
    method: "post",
    path: "/api/auth/login",
    summary: "Log in with email and password",
    tags,
    body: z.object({ email: Email, password: Password }),
    responses: {
      200: { description: "Logged in; refresh cookie set (and the monitor cookie for admins)", schema: SessionSchema },
      401: { description: "Wrong email or password (the same answer for both)" },
      429: {
        description:
          "ACCOUNT_LOCKED: too many failures for this account from this address; ACCOUNT_THROTTLED: too many for the account from everywhere. See Retry-After",
      },
    },
    handler: async (req, res) => {
      const bundle = await auth.login(req.valid.body, clientSource(req));
      setSessionCookies(res, bundle, secure);
      res.json(bundle);
    },
  });

  api.route({
    method: "post",
    path: "/api/auth/guest",
    summary: "Log in as the guest account of a device (created on first use)",
    tags,
    body: z.object({
      deviceId: z.string().regex(/^[A-Za-z0-9._:-]{8,128}$/, "8–128 characters of A-Z a-z 0-9 . _ : -"),
    }),
    responses: {
      200: { description: "Logged in", schema: SessionSchema },
      409: { description: "The device's account was registered: log in with email" },
    },
    handler: async (req, res) => {
      const bundle = await auth.guest(req.valid.body.deviceId);
      setSessionCookies(res, bundle, secure);
      res.json(bundle);
    },
  });

  api.route({
    method: "post",
    path: "/api/auth/refresh",
    summary: "Spend a refresh token (body or cookie) for a new pair; a spent token revokes its whole family",
    tags,
    body: z.object({ refreshToken: z.string().max(256).optional() }),
    responses: {
      200: { description: "New access and refresh tokens", schema: SessionSchema },
      401: { description: "Unknown, expired, revoked or reused refresh token" },
      403: { description: "Cookie used without an allowed Origin or CSRF token" },
    },
    handler: async (req, res) => {
      const token = req.valid.body.refreshToken ?? cookieToken(req, config);
      if (!token) throw unauthorized("Send refreshToken or the refresh_token cookie", "REFRESH_TOKEN_MISSING");
      const bundle = await auth.refresh(token);
      setSessionCookies(res, bundle, secure);
      res.json(bundle);
    },
  });

  api.route({
    method: "post",
    path: "/api/auth/logout",
    summary: "End this login: revoke its refresh-token family",
    tags,
    body: z.object({ refreshToken: z.string().max(256).optional() }),
    before: [optionalAuth(auth)],
    responses: { 204: { description: "Logged out" }, 401: { description: "Neither a bearer nor a refresh token" } },
    handler: async (req, res) => {
      const refreshToken = req.valid.body.refreshToken ?? cookieToken(req, config);
      if (!refreshToken && !req.principal) throw unauthorized("Send a bearer token or a refresh token");
      await auth.logout({ refreshToken, familyId: req.principal?.familyId });
      clearSessionCookies(res, secure);
      res.status(204).end();
    },
  });

  api.route({
    method: "post",
    path: "/api/auth/logout-all",
    summary: "End every session of the user: all access and refresh tokens stop working at once",
    tags,
    security: ["bearer"],
    before: [signedIn],
    responses: { 204: { description: "Every session ended" } },
    handler: async (req, res) => {
      await auth.logoutAll(principalOf(req).userId);
      clearSessionCookies(res, secure);
      res.status(204).end();
    },
  });

  api.route({
    method: "get",
    path: "/api/auth/me",
    summary: "The signed-in user",
    tags,
    security: ["bearer"],
    before: [signedIn],
    responses: { 200: { description: "The user", schema: z.object({ user: UserSchema }) } },
    handler: async (req, res) => {
      const id = principalOf(req).userId;
      res.json({ user: await services.users.get(principalOf(req), id) });
    },
  });

  api.route({
    method: "post",
    path: "/api/auth/change-password",
    summary: "Change the password; every other session ends",
    tags,
    security: ["bearer"],
    before: [signedIn],
    body: z.object({ currentPassword: Password, newPassword: Password }),
    responses: { 204: { description: "Changed" }, 403: { description: "Wrong current password" } },
    handler: async (req, res) => {
      const { currentPassword, newPassword } = req.valid.body;
      await auth.changePassword(principalOf(req).userId, currentPassword, newPassword);
      clearSessionCookies(res, secure);
      res.status(204).end();
    },
  });

  for (const channel of ["email", "phone"] as const) {
    api.route({
      method: "post",
      path: `/api/auth/verify-${channel}/start`,
      summary: `Send a 6-digit code to the user's ${channel === "email" ? "email" : "phone number"}`,
      tags,
      security: ["bearer"],
      before: [signedIn],
      body:
        channel === "phone"
          ? z.object({ phone: z.string().regex(/^\+[1-9]\d{6,14}$/, "E.164, e.g. +14155550123") })
          : z.object({}),
      responses: {
        202: { description: "Code sent", schema: z.object({ expiresInSec: z.number() }) },
        429: { description: "A code was sent less than a minute ago" },
      },
      handler: async (req, res) => {
        const phone = "phone" in req.valid.body ? (req.valid.body.phone as string) : undefined;
        res.status(202).json(await verification.start(principalOf(req).userId, channel, phone));
      },
    });

    api.route({
      method: "post",
      path: `/api/auth/verify-${channel}`,
      summary: `Confirm the ${channel} with the code`,
      tags,
      security: ["bearer"],
      before: [signedIn],
      body: z.object({ code: Code }),
      responses: {
        200: { description: "Verified", schema: z.object({ user: UserSchema }) },
        400: { description: "Wrong or expired code" },
        429: { description: "Too many wrong codes" },
      },
      handler: async (req, res) => {
        res.json({ user: await verification.verify(principalOf(req).userId, channel, req.valid.body.code) });
      },
    });
  }
}

/** The refresh cookie, accepted only from a request that passes the CSRF check. */
function cookieToken(req: Parameters<typeof readCookies>[0], config: Config): string | undefined {
  const token = readCookies(req)[REFRESH_COOKIE];
  if (token) assertCookieRequestIsNotForged(req, config.CORS_ORIGINS);
  return token;
}
