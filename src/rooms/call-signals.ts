import type { Client } from "@colyseus/core";
import { z } from "zod";
import { validated } from "./messages";

const MAX_SDP = 32 * 1024;
const Sdp = z.string().min(1).max(MAX_SDP);
export const Description = (type: "offer" | "answer") => z.strictObject({ sdp: Sdp, type: z.literal(type).optional() });
/** RTCIceCandidateInit; the empty string is the end-of-candidates marker. */
export const Candidate = z.strictObject({
  candidate: z.union([
    z.string().max(1024),
    z.strictObject({
      candidate: z.string().max(1024),
      sdpMid: z.string().max(64).nullish(),
      sdpMLineIndex: z.number().int().min(0).max(255).nullish(),
      usernameFragment: z.string().max(256).nullish(),
    }),
  ]),
});

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const hasOnlyKeys = (v: Record<string, unknown>, allowed: ReadonlySet<string>) =>
  Object.keys(v).every((key) => allowed.has(key));
const isText = (v: unknown, max: number) => typeof v === "string" && v.length <= max;
const isNullishText = (v: unknown, max: number) => v === undefined || v === null || isText(v, max);

const DESCRIPTION_KEYS = new Set(["sdp", "type"]);
const CANDIDATE_KEYS = new Set(["candidate"]);
const CANDIDATE_INIT_KEYS = new Set(["candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"]);

/** What Description(type) accepts, checked by hand (never accepts what the schema refuses). */
export const isDescription =
  (type: "offer" | "answer") =>
  (v: unknown): v is z.output<ReturnType<typeof Description>> =>
    isRecord(v) &&
    hasOnlyKeys(v, DESCRIPTION_KEYS) &&
    typeof v.sdp === "string" &&
    v.sdp.length >= 1 &&
    v.sdp.length <= MAX_SDP &&
    (v.type === undefined || v.type === type);

/** What Candidate accepts, checked by hand (never accepts what the schema refuses). */
export function isCandidate(v: unknown): v is z.output<typeof Candidate> {
  if (!isRecord(v) || !hasOnlyKeys(v, CANDIDATE_KEYS)) return false;
  const c = v.candidate;
  if (typeof c === "string") return c.length <= 1024;
  if (!isRecord(c) || !hasOnlyKeys(c, CANDIDATE_INIT_KEYS)) return false;
  const index = c.sdpMLineIndex;
  return (
    isText(c.candidate, 1024) &&
    isNullishText(c.sdpMid, 64) &&
    isNullishText(c.usernameFragment, 256) &&
    (index === undefined || index === null || (Number.isInteger(index) && Number(index) >= 0 && Number(index) <= 255))
  );
}

/**
 * `validated` for the signaling messages, which a call relays by the dozen per
 * second: a payload of the usual shape passes a hand-written check, anything
 * else goes through the schema, which answers exactly as `validated` does
 * (INVALID_MESSAGE with the schema's reason). Zod was the largest part of our
 * own code in the relay profile. A handler's error on the fast path reaches the
 * room guard, which answers it as `validated` would (`error {code}`).
 */
export function signal<S extends z.ZodType>(
  type: string,
  schema: S,
  accepts: (payload: unknown) => payload is z.output<S>,
  handler: (client: Client, payload: z.output<S>) => void,
) {
  const checked = validated(type, schema, handler);
  return (client: Client, payload: unknown) => (accepts(payload) ? handler(client, payload) : checked(client, payload));
}
