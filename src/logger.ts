import pino, { type DestinationStream, type Logger } from "pino";

/** Paths whose values never reach the logs, wherever they appear in a log object. */
export const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-csrf-token"]',
  'req.headers["stripe-signature"]',
  'req.headers["x-hive-signature"]',
  'res.headers["set-cookie"]',
  "password",
  "*.password",
  "*.currentPassword",
  "*.newPassword",
  "*.token",
  "*.accessToken",
  "*.refreshToken",
  "*.sessionToken",
  "*.secret",
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      base: { pid: process.pid },
    },
    destination,
  );
}
