import type { Request, RequestHandler } from "express";
import type { Role } from "../entities";
import type { AuthService, Principal } from "../services/auth";
import { forbidden, unauthorized } from "../services/errors";

declare module "express-serve-static-core" {
  interface Request {
    /** Set by requireAuth / optionalAuth from a valid bearer access token. */
    principal?: Principal;
  }
}

export function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const [scheme, token] = header.split(" ");
  return scheme?.toLowerCase() === "bearer" && token ? token : undefined;
}

/** 401 unless a valid, unrevoked access token is presented. */
export function requireAuth(auth: AuthService): RequestHandler {
  return async (req, _res, next) => {
    const token = bearerToken(req);
    if (!token) return next(unauthorized("Send Authorization: Bearer <accessToken>"));
    req.principal = await auth.authenticate(token);
    next();
  };
}

/** Like requireAuth, but a request without a token passes anonymously. */
export function optionalAuth(auth: AuthService): RequestHandler {
  return async (req, _res, next) => {
    const token = bearerToken(req);
    if (token) req.principal = await auth.authenticate(token);
    next();
  };
}

/** 403 unless the authenticated user has one of the roles (use after requireAuth). */
export function requireRole(...roles: Role[]): RequestHandler {
  return (req, _res, next) => {
    if (!req.principal || !roles.includes(req.principal.role))
      return next(forbidden(`Requires role ${roles.join(" or ")}`));
    next();
  };
}

/** The principal of a route behind requireAuth. */
export function principalOf(req: Request): Principal {
  if (!req.principal) throw unauthorized();
  return req.principal;
}
