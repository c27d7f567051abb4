import argon2 from "argon2";
import { badRequest } from "./errors";

/** OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane. */
const PARAMS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

/** The most common passwords of public breach lists: refused outright. */
const COMMON_PASSWORDS = new Set(
  `123456 123456789 12345678 password qwerty123 qwerty1 111111 12345 1234567 password1 123123 1234567890
  000000 abc123 qwerty iloveyou dragon monkey letmein football baseball welcome admin admin123 login
  princess sunshine master shadow superman trustno1 passw0rd password123 hello123 freedom whatever
  qazwsx 654321 666666 987654321 1q2w3e4r 1q2w3e4r5t zxcvbnm asdfghjkl 11111111 88888888 12341234
  changeme secret123 welcome1 football1 starwars michael jennifer computer internet mustang access
  charlie donald batman 7777777 121212 killer hunter2 pokemon azerty aa123456 a123456 123qwe qwertyuiop
  password12 p@ssw0rd p@ssword letmein1 iloveyou1 q1w2e3r4 1qaz2wsx zaq12wsx 123abc abcd1234 00000000
  asdf1234 1234qwer lovely987 ninja987 sunshine1 princess1 welcome123 admin1234 root1234 test1234
  default guest1234 arcadia123 gamer123 player123 minecraft fortnite`.split(/\s+/),
);

/** 400 with a clear code for a password we refuse to store. */
export function checkPasswordPolicy(password: string, context: { email?: string | null; displayName?: string }) {
  if (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH) {
    throw badRequest("WEAK_PASSWORD", `Passwords are ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long`);
  }
  const lowered = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lowered)) throw badRequest("WEAK_PASSWORD", "This password is too common; choose another");
  const local = context.email?.split("@")[0]?.toLowerCase();
  if ((local && local.length >= 4 && lowered === local) || lowered === context.displayName?.toLowerCase()) {
    throw badRequest("WEAK_PASSWORD", "The password must not be your email or display name");
  }
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
