import { randomBytes, timingSafeEqual } from "node:crypto";
import { parse } from "cookie";
import type { Request, Response } from "express";
import type { SessionBundle } from "../services/auth";
import { forbidden } from "../services/errors";
import { REFRESH_TOKEN_TTL_SEC } from "../services/refresh-tokens";
import { ACCESS_TOKEN_TTL_SEC } from "../services/access-tokens";

export const REFRESH_COOKIE = "refresh_token";
export const CSRF_COOKIE = "csrf_token";
/** The admin's access token for the monitor panel, scoped to /monitor. */
export const ADMIN_COOKIE = "admin_session";

export function readCookies(req: Request): Record<string, string | undefined> {
  return req.headers.cookie ? parse(req.headers.cookie) : {};
}

/**
 * Refresh token in an httpOnly, SameSite=Strict cookie scoped to /api/auth,
 * plus a readable CSRF token for the double-submit check; admins also get the
 * monitor cookie.
 */
export function setSessionCookies(res: Response, bundle: SessionBundle, secure: boolean) {
  res.cookie(REFRESH_COOKIE, bundle.refreshToken, {
    httpOnly: true,
    sameSite: "strict",
    secure,
    path: "/api/auth",
    maxAge: REFRESH_TOKEN_TTL_SEC * 1000,
  });
  res.cookie(CSRF_COOKIE, randomBytes(24).toString("base64url"), {
    sameSite: "strict",
    secure,
    path: "/",
    maxAge: REFRESH_TOKEN_TTL_SEC * 1000,
  });
  if (bundle.user.role === "admin") setAdminCookie(res, bundle.accessToken, secure);
}

export function setAdminCookie(res: Response, accessToken: string, secure: boolean) {
  res.cookie(ADMIN_COOKIE, accessToken, {
    httpOnly: true,
    sameSite: "strict",
    secure,
    path: "/monitor",
    maxAge: ACCESS_TOKEN_TTL_SEC * 1000,
  });
}

export function clearSessionCookies(res: Response, secure: boolean) {
  res.clearCookie(REFRESH_COOKIE, { httpOnly: true, sameSite: "strict", secure, path: "/api/auth" });
  res.clearCookie(CSRF_COOKIE, { sameSite: "strict", secure, path: "/" });
  res.clearCookie(ADMIN_COOKIE, { httpOnly: true, sameSite: "strict", secure, path: "/monitor" });
}

/**
 * A request authenticated by a cookie must come from an allowed origin (same
 * origin or CORS_ORIGINS) or carry the CSRF cookie's value in X-CSRF-Token.
 */
export function assertCookieRequestIsNotForged(req: Request, allowedOrigins: readonly string[]) {
  const origin = req.headers.origin;
  if (origin && (allowedOrigins.includes(origin) || isSameOrigin(origin, req))) return;
  const cookie = readCookies(req)[CSRF_COOKIE];
  const header = req.headers["x-csrf-token"];
  if (cookie && typeof header === "string" && safeEqual(cookie, header)) return;
  throw forbidden("Cookie-authenticated requests need an allowed Origin or X-CSRF-Token", "CSRF_FAILED");
}

function isSameOrigin(origin: string, req: Request): boolean {
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
