import type { RequestHandler } from "express";
import helmet from "helmet";

/**
 * Helmet's headers, with the two that only make sense over HTTPS sent only
 * then: HSTS, and CSP's `upgrade-insecure-requests` (over plain HTTP on any
 * host but localhost it makes browsers rewrite /docs' and the monitor's
 * assets to https://, and the pages come up blank). A request is HTTPS when
 * the deployment says so (`PUBLIC_URL` https://…) or Express sees it as
 * secure (TLS, or `X-Forwarded-Proto: https` from a trusted proxy).
 */
export function securityHeaders(options: { publicUrlIsHttps: boolean }): RequestHandler {
  const directives = {
    // Swagger UI and the monitor (MUI) inject inline styles; the monitor loads Material Icons from Google Fonts.
    "style-src": ["'self'", "'unsafe-inline'", "https://fonts.googleapis.com"],
    "font-src": ["'self'", "https:", "data:"],
  };
  const common = { crossOriginResourcePolicy: { policy: "cross-origin" as const } };
  const overHttps = helmet({ ...common, contentSecurityPolicy: { directives } });
  const overHttp = helmet({
    ...common,
    contentSecurityPolicy: { directives: { ...directives, "upgrade-insecure-requests": null } },
    strictTransportSecurity: false,
  });
  return (req, res, next) => (options.publicUrlIsHttps || req.secure ? overHttps : overHttp)(req, res, next);
}
