import argon2 from "argon2";
import type { ZxcvbnFactory } from "@zxcvbn-ts/core";
import { badRequest } from "./errors";
import type { MessageParams, MessageRef } from "./i18n-messages";

/** OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane. */
const PARAMS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN_LENGTH = 8;
/** NIST and OWASP ask for at least 64; passphrases fit. */
export const PASSWORD_MAX_LENGTH = 128;
/** zxcvbn's 0–4 scale: 3 is "safely unguessable: moderate protection from offline slow-hash scenario". */
export const PASSWORD_MIN_SCORE = 3;
/** Only this many leading characters are estimated (a longer prefix adds nothing and costs CPU). */
const ESTIMATED_LENGTH = 64;

let estimator: ZxcvbnFactory | undefined;
/** zxcvbn's English feedback texts by key: the estimator reports keys, translated per client (`password.*` messages). */
let english: { warnings: Record<string, string>; suggestions: Record<string, string> } | undefined;
/**
 * zxcvbn-ts with its common (breached passwords, keyboards) and English
 * (words, names, Wikipedia) dictionaries: built once, on first use, because the
 * dictionaries are large (see the README for the measured cost).
 */
function strengthEstimator(): ZxcvbnFactory {
  if (estimator) return estimator;
  // Required here, not imported at the top: loading the packs alone takes about as long as
  // building the estimator, and config.ts (imported by every tool) imports this module.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { ZxcvbnFactory } = require("@zxcvbn-ts/core") as typeof import("@zxcvbn-ts/core");
  const common = require("@zxcvbn-ts/language-common") as typeof import("@zxcvbn-ts/language-common");
  const en = require("@zxcvbn-ts/language-en") as typeof import("@zxcvbn-ts/language-en");
  /* eslint-enable @typescript-eslint/no-require-imports */
  english = en.translations;
  const asKeys = <T extends Record<string, string>>(texts: T) =>
    Object.fromEntries(Object.keys(texts).map((key) => [key, key])) as T;
  estimator = new ZxcvbnFactory({
    translations: {
      warnings: asKeys(en.translations.warnings),
      suggestions: asKeys(en.translations.suggestions),
      timeEstimation: en.translations.timeEstimation,
    },
    graphs: common.adjacencyGraphs,
    dictionary: { ...common.dictionary, ...en.dictionary },
    maxLength: ESTIMATED_LENGTH,
    // The default (100) lets one crafted password take seconds; real l33t passwords need few.
    l33tMaxSubstitutions: 8,
  });
  return estimator;
}

export interface PasswordProblem {
  /** In English. */
  message: string;
  details?: { score: number; warning: string | null; suggestions: string[] };
  /** For the `error.WEAK_PASSWORD` message: the problem, and the estimator's advice as translatable messages. */
  params: MessageParams;
}

/** 400 WEAK_PASSWORD, with the estimator's feedback, for a password we refuse to store. */
export function checkPasswordPolicy(password: string, context: PasswordContext) {
  const problem = passwordProblem(password, context);
  if (problem) throw badRequest("WEAK_PASSWORD", problem.message, problem.details).withParams(problem.params);
}

export interface PasswordContext {
  email?: string | null;
  displayName?: string;
}

/**
 * Why the policy refuses a password (undefined when it accepts it): 8–128
 * characters and a zxcvbn score of at least 3, where the user's own email and
 * name count as dictionary words. Never quotes the password.
 */
export function passwordProblem(password: string, context: PasswordContext): PasswordProblem | undefined {
  if (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH) {
    return {
      message: `Passwords are ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long`,
      params: { problem: "length", min: PASSWORD_MIN_LENGTH, max: PASSWORD_MAX_LENGTH },
    };
  }
  const local = context.email?.split("@")[0];
  const userInputs = [context.email, local, context.displayName, ...(context.displayName?.split(/\s+/) ?? [])].filter(
    (v): v is string => !!v && v.length >= 3,
  );
  const { score, feedback } = strengthEstimator().check(password, userInputs);
  if (score >= PASSWORD_MIN_SCORE) return undefined;
  const texts = english!;
  const advice: MessageRef[] = [
    ...(feedback.warning
      ? [{ key: `password.warning.${feedback.warning}`, fallback: texts.warnings[feedback.warning] }]
      : []),
    ...feedback.suggestions.map((s) => ({ key: `password.suggestion.${s}`, fallback: texts.suggestions[s] })),
  ];
  const warning = feedback.warning ? texts.warnings[feedback.warning] : null;
  const suggestions = feedback.suggestions.map((s) => texts.suggestions[s]);
  const englishAdvice = [warning, ...suggestions].filter(Boolean).join(" ");
  return {
    message: `This password is too easy to guess${englishAdvice ? `: ${englishAdvice}` : ""}`,
    details: { score, warning, suggestions },
    params: { problem: "guessable", advice },
  };
}

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, PARAMS);
}

/** Verifies, and says whether the stored hash uses older parameters (rehash on login). */
export async function verifyPassword(hash: string, password: string): Promise<{ ok: boolean; needsRehash: boolean }> {
  try {
    const ok = await argon2.verify(hash, password);
    return { ok, needsRehash: ok && argon2.needsRehash(hash, PARAMS) };
  } catch {
    return { ok: false, needsRehash: false };
  }
}

let dummyHash: Promise<string> | undefined;
/**
 * Spends the same time as a real verification, for logins of unknown
 * accounts: the response time does not reveal whether an email is registered.
 */
export async function verifyAgainstDummy(password: string): Promise<void> {
  dummyHash ??= hashPassword("dummy password that never matches");
  await verifyPassword(await dummyHash, password);
}
