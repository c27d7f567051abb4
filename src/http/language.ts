import type { Request, RequestHandler, Response } from "express";
import type { AuthService } from "../services/auth";
import type { I18nService } from "../services/i18n";
import type { MessageParams } from "../services/i18n-messages";
import { parseAcceptLanguage } from "../services/language-tags";
import { bearerToken } from "./auth-middleware";

declare module "express-serve-static-core" {
  interface Request {
    /** The language of the answer (also sent as Content-Language). */
    language?: string;
    /** The message `key` in the request's language; `fallback` when no language has it. */
    translate?: (key: string, params?: MessageParams, fallback?: string) => string;
  }
}

/**
 * Picks the language of every answer: the `lang` query parameter, then the signed-in user's
 * locale, then Accept-Language (q-values, `pt-BR` → `pt`), then the default; unknown or inactive
 * languages are passed over. This first step runs before anything can answer (rate limits
 * included) and knows no user yet; `userLanguage` refines it once the limits passed.
 */
export function negotiateLanguage(i18n: I18nService): RequestHandler {
  return (req, res, next) => {
    choose(i18n, req, res, null);
    req.translate = (key, params, fallback) => i18n.text(req.language, key, params, fallback);
    next();
  };
}

/**
 * The signed-in user's locale, from the bearer token if there is one. Best effort: a missing,
 * invalid or revoked token changes nothing here (the route's own auth answers it), and the
 * locale comes from the per-process auth cache, so this costs no query per request.
 */
export function userLanguage(auth: AuthService, i18n: I18nService): RequestHandler {
  return async (req, res, next) => {
    const token = bearerToken(req);
    const principal = token ? await auth.authenticate(token).catch(() => undefined) : undefined;
    if (principal?.locale) choose(i18n, req, res, principal.locale);
    next();
  };
}

function choose(i18n: I18nService, req: Request, res: Response, locale: string | null) {
  const query = req.query.lang;
  const asked = typeof query === "string" ? query : Array.isArray(query) ? String(query[0]) : undefined;
  req.language = i18n.pick([asked, locale, ...parseAcceptLanguage(req.headers["accept-language"])]);
  res.setHeader("Content-Language", req.language);
}
