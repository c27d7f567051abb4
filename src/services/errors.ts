import type { MessageParams } from "./i18n-messages";

/**
 * The one error type services throw for expected failures. The HTTP layer turns
 * it into the error envelope with `status`; rooms send `{code, message}`. The
 * message is the English fallback: both translate `error.<code>` into the
 * client's language, filling its placeholders from `params`.
 */
export class AppError extends Error {
  /** Values for the placeholders of the `error.<code>` message (see withParams). */
  params?: MessageParams;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers?: Record<string, string>,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "AppError";
  }

  /** `throw badRequest("INVALID_AMOUNT", \`… ${max}\`).withParams({ max })`: the values the translated message shows. */
  withParams(params: MessageParams): this {
    this.params = params;
    return this;
  }
}

export const badRequest = (code: string, message: string, details?: unknown) =>
  new AppError(400, code, message, details);
export const unauthorized = (message = "Authentication required", code = "UNAUTHORIZED") =>
  new AppError(401, code, message);
export const forbidden = (message = "Not allowed", code = "FORBIDDEN") => new AppError(403, code, message);
export const notFound = (message = "Not found", code = "NOT_FOUND") => new AppError(404, code, message);
export const conflict = (code: string, message: string, details?: unknown) => new AppError(409, code, message, details);
/** 410: the thing existed but is over for good (e.g. a past day's challenge). */
export const gone = (code: string, message: string) => new AppError(410, code, message);

/** A PostgreSQL unique-constraint violation (23505), however TypeORM wrapped it. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string } };
  return e?.code === "23505" || e?.driverError?.code === "23505";
}
