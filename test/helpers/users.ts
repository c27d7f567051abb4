import { randomBytes } from "node:crypto";
import type { SessionBundle } from "../../src/services/auth";
import { type TestApp, testApp } from "./app";

/** Every credential the tests handle; the root hook proves none reached the logs. */
export const handledSecrets = new Set<string>();

export function remember<T extends string | undefined>(secret: T): T {
  if (secret && secret.length >= 8) handledSecrets.add(secret);
  return secret;
}

export const uniqueEmail = (tag = "user") => `${tag}-${randomBytes(5).toString("hex")}@arcadia.test`;
export const strongPassword = () => remember(`Pw-${randomBytes(9).toString("base64url")}`);

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
export const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "Content-Type": "application/json", ...headers },
  body: JSON.stringify(body),
});

export interface Account extends SessionBundle {
  email: string;
  password: string;
}

function rememberBundle<B extends SessionBundle>(bundle: B): B {
  remember(bundle.accessToken);
  remember(bundle.refreshToken);
  return bundle;
}

export async function register(
  app?: TestApp,
  overrides: Partial<{ email: string; password: string; displayName: string }> = {},
) {
  const t = app ?? (await testApp());
  const email = overrides.email ?? uniqueEmail();
  const password = overrides.password ?? strongPassword();
  const res = await t.fetch(
    "/api/auth/register",
    json({ email, password, displayName: overrides.displayName ?? "Player One" }),
  );
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  return { ...rememberBundle((await res.json()) as SessionBundle), email, password } as Account;
}

export async function login(email: string, password: string, app?: TestApp) {
  const t = app ?? (await testApp());
  const res = await t.fetch("/api/auth/login", json({ email, password }));
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return rememberBundle((await res.json()) as SessionBundle);
}

export async function refresh(refreshToken: string, app?: TestApp) {
  const t = app ?? (await testApp());
  const res = await t.fetch("/api/auth/refresh", json({ refreshToken }));
  const body = await res.json();
  if (res.status === 200) rememberBundle(body);
  return { status: res.status, body };
}

export async function me(accessToken: string, app?: TestApp) {
  const t = app ?? (await testApp());
  return t.fetch("/api/auth/me", { headers: bearer(accessToken) });
}

/** A registered account whose email counts as verified (what token rewards require). */
export async function registerVerified(app?: TestApp, overrides: Parameters<typeof register>[1] = {}) {
  const t = app ?? (await testApp());
  const account = await register(t, overrides);
  await t.app.dataSource.query(`UPDATE users SET email_verified_at = now() WHERE id = $1`, [account.user.id]);
  return account;
}
