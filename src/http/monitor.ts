import { monitor } from "@colyseus/monitor";
import type { Application, RequestHandler } from "express";
import { type AdminCredentials, checkAdminCredentials } from "../services/admin";
import { sendError } from "./errors";

/**
 * The Colyseus monitor panel at /monitor, for operators only. Until accounts
 * exist it takes HTTP Basic credentials matching ADMIN_EMAIL / ADMIN_PASSWORD.
 */
export function mountMonitor(app: Application, admin: AdminCredentials): void {
  app.use("/monitor", requireAdmin(admin), monitor());
}

function requireAdmin(admin: AdminCredentials): RequestHandler {
  return (req, res, next) => {
    if (!admin.email)
      return sendError(
        req,
        res,
        503,
        "MONITOR_NOT_CONFIGURED",
        "Set ADMIN_EMAIL and ADMIN_PASSWORD to use the monitor",
      );
    const [scheme, encoded] = (req.headers.authorization ?? "").split(" ");
    if (scheme?.toLowerCase() === "basic" && encoded) {
      const decoded = Buffer.from(encoded, "base64").toString("utf8");
      const sep = decoded.indexOf(":");
      if (sep > 0 && checkAdminCredentials(admin, decoded.slice(0, sep), decoded.slice(sep + 1))) return next();
    }
    res.setHeader("WWW-Authenticate", 'Basic realm="monitor", charset="UTF-8"');
    sendError(req, res, 401, "UNAUTHORIZED", "Admin credentials required");
  };
}
