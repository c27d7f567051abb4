import { monitor } from "@colyseus/monitor";
import express, { type RequestHandler } from "express";
import type { AuthService } from "../services/auth";
import { AppError } from "../services/errors";
import { nulPath } from "../services/text";
import type { Api } from "./api";
import { bearerToken, requireRole } from "./auth-middleware";
import { ADMIN_COOKIE, readCookies, setAdminCookie } from "./cookies";
import { sendError } from "./errors";
import { clientSource } from "./client-source";

/**
 * The Colyseus monitor panel at /monitor, for admins: a bearer access token,
 * or the admin_session cookie set by /api/auth/login or by the login form at
 * /monitor/login. Without either: 401 (with the form for browsers); non-admin: 403.
 */
export function mountMonitor(api: Api, auth: AuthService, options: { secure: boolean; before: RequestHandler[] }) {
  const app = api.app;
  // HTML pages rather than JSON routes, but still listed in the API document.
  for (const method of ["get", "post"] as const) {
    api.registry.registerPath({
      method,
      path: "/monitor/login",
      summary: method === "get" ? "Monitor sign-in form" : "Monitor sign-in (form post): sets the admin_session cookie",
      tags: ["operations"],
      responses: {
        [method === "get" ? 200 : 303]: {
          description: method === "get" ? "HTML form" : "Signed in; redirect to /monitor/",
        },
      },
    });
  }
  const loginPage = (message = "") => `<!doctype html><meta charset="utf-8"><title>Arcadia monitor</title>
<style>body{font:16px system-ui;max-width:22rem;margin:4rem auto}input,button{display:block;width:100%;margin:.5rem 0;padding:.5rem}</style>
<h1>Arcadia monitor</h1>${message ? `<p role="alert">${message}</p>` : ""}
<form method="post" action="/monitor/login"><input name="email" type="email" placeholder="Admin email" required autocomplete="username">
<input name="password" type="password" placeholder="Password" required autocomplete="current-password"><button>Sign in</button></form>`;

  app.get("/monitor/login", (_req, res) => {
    res.type("html").send(loginPage());
  });
  app.post(
    "/monitor/login",
    ...options.before,
    express.urlencoded({ extended: false, limit: "4kb" }),
    async (req, res) => {
      const { email, password } = (req.body ?? {}) as Record<string, unknown>;
      // NUL cannot reach PostgreSQL; such input is as unusable as a missing field.
      if (typeof email !== "string" || typeof password !== "string" || nulPath([email, password]) !== undefined) {
        return void res.status(400).type("html").send(loginPage("Enter your email and password."));
      }
      try {
        const session = await auth.login({ email, password }, clientSource(req));
        if (session.user.role !== "admin") return void res.status(403).type("html").send(loginPage("Admins only."));
        setAdminCookie(res, session.accessToken, options.secure);
        res.redirect(303, "/monitor/");
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        if (err.headers?.["Retry-After"]) res.setHeader("Retry-After", err.headers["Retry-After"]);
        res.status(err.status).type("html").send(loginPage(err.message));
      }
    },
  );

  /** Bearer or admin cookie → req.principal; none → 401 (the form for browsers). */
  const signedIn: RequestHandler = async (req, res, next) => {
    const token = bearerToken(req) ?? readCookies(req)[ADMIN_COOKIE];
    req.principal = token ? await auth.authenticate(token).catch(() => undefined) : undefined;
    if (req.principal) return next();
    if (req.accepts(["json", "html"]) === "html") return void res.status(401).type("html").send(loginPage());
    sendError(req, res, 401, "UNAUTHORIZED", "Admin sign-in required (bearer token or /monitor/login)");
  };
  app.use("/monitor", signedIn, requireRole("admin"), monitor());
}
