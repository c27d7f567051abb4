/** The providers events can go to; an outbox row names one of them. */
export const ANALYTICS_PROVIDERS = ["posthog", "mixpanel", "plausible", "ga4"] as const;
export type AnalyticsProviderName = (typeof ANALYTICS_PROVIDERS)[number];

/** One outbox row as an adapter sees it: the user is already pseudonymous. */
export interface OutboxEvent {
  name: string;
  /** HMAC of the user id (never the id, email or address itself); undefined for anonymous events. */
  distinctId?: string;
  occurredAt: Date;
  insertId: string;
  properties: Record<string, unknown>;
  /** The original client's address and agent: kept for Plausible's rows only. */
  client?: { ip: string; userAgent: string };
}

/** What a delivery that did not fully succeed means for the rows of the batch. */
export class ProviderError extends Error {
  constructor(
    message: string,
    /** True when resending the same payload cannot succeed (400): the rows are dropped and counted failed. */
    readonly permanent: boolean,
    /** Rows the provider reported as accepted despite the error (Mixpanel's partial 400). */
    readonly accepted = 0,
  ) {
    super(message);
  }
}

/** One provider's adapter: its batch limit, payload mapping and error classification. */
export interface AnalyticsProvider {
  readonly name: AnalyticsProviderName;
  /** Most events one call sends. */
  readonly maxBatch: number;
  /** GA4: one request carries one client id, so a batch holds one user's events only. */
  readonly batchPerUser?: boolean;
  /** Whether the provider takes this event at all (Plausible needs the client's headers). */
  accepts(e: { client?: unknown }): boolean;
  /** Sends the batch; throws ProviderError (anything else counts as retryable). */
  send(events: OutboxEvent[]): Promise<void>;
}

/**
 * 400/413/422 (the payload itself is refused) cannot succeed on resend. Everything else is
 * retried: 429, 5xx and network errors, and also 401/403, so a wrong or rotated key loses
 * nothing once the operator fixes it.
 */
export function classifyStatus(provider: string, status: number, body: string): ProviderError {
  const permanent = status === 400 || status === 413 || status === 422;
  return new ProviderError(`${provider} answered ${status}: ${body.slice(0, 200)}`, permanent);
}

/** A POST with a timeout; a network failure or timeout becomes a retryable ProviderError. */
export async function post(
  provider: string,
  url: string,
  init: { headers: Record<string, string>; body: string },
  timeoutMs = 10_000,
): Promise<Response> {
  try {
    return await fetch(url, { method: "POST", ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new ProviderError(`${provider} unreachable: ${(err as Error).message}`, false);
  }
}
