/** The error envelope's content: `{error:{code,message,requestId}}`, message localized by the server. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface User {
  id: string;
  email?: string;
  displayName: string;
  role: string;
  isGuest: boolean;
}

interface SessionBundle {
  user: User;
  accessToken: string;
  expiresIn: number;
}

let current: SessionBundle | undefined;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<(user: User | undefined) => void>();

export const currentUser = () => current?.user;
export const accessToken = () => current?.accessToken;
export const onSessionChange = (listener: (user: User | undefined) => void) => listeners.add(listener);

interface RequestOptions {
  method?: string;
  body?: unknown;
  /** A bearer other than the access token (a play session token). */
  bearer?: string;
  headers?: Record<string, string>;
}

/** A JSON request to the server; non-2xx answers throw ApiError from the envelope. */
export async function api<T = any>(path: string, options: RequestOptions = {}, retry = true): Promise<T> {
  const bearer = options.bearer ?? current?.accessToken;
  const res = await fetch(path, {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers: {
      // The server localizes errors and texts from this.
      "Accept-Language": navigator.languages.join(","),
      ...(options.body === undefined ? {} : { "Content-Type": "application/json" }),
      ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    credentials: "same-origin",
  });
  if (res.status === 401 && retry && !options.bearer && current && (await refresh())) {
    return api<T>(path, options, false);
  }
  if (res.status === 204) return undefined as T;
  const body = await res.json().catch(() => undefined);
  if (!res.ok) {
    const error = body?.error ?? {};
    throw new ApiError(res.status, error.code ?? `HTTP_${res.status}`, error.message ?? res.statusText);
  }
  return body as T;
}

function setSession(bundle: SessionBundle | undefined) {
  current = bundle;
  clearTimeout(refreshTimer);
  // A fresh access token a minute before this one expires (rooms join with it).
  if (bundle) refreshTimer = setTimeout(() => void refresh(), Math.max(5, bundle.expiresIn - 60) * 1000);
  listeners.forEach((l) => l(bundle?.user));
}

export async function signIn(kind: "register" | "login" | "guest", body: Record<string, string>) {
  setSession(await api<SessionBundle>(`/api/auth/${kind}`, { body }, false));
  return current!.user;
}

/** The refresh cookie (httpOnly, /api/auth) spent for a new pair; CSRF double-submit from the readable cookie. */
export async function refresh(): Promise<boolean> {
  const csrf = readCookie("csrf_token");
  if (!csrf) return false; // never signed in on this browser: no request, no 401
  try {
    setSession(await api<SessionBundle>("/api/auth/refresh", { body: {}, headers: { "X-CSRF-Token": csrf } }, false));
    return true;
  } catch {
    setSession(undefined);
    return false;
  }
}

export async function signOut() {
  const csrf = readCookie("csrf_token") ?? "";
  await api("/api/auth/logout", { body: {}, headers: { "X-CSRF-Token": csrf } }, false).catch(() => undefined);
  setSession(undefined);
}

function readCookie(name: string): string | undefined {
  const pair = document.cookie.split("; ").find((c) => c.startsWith(`${name}=`));
  return pair ? decodeURIComponent(pair.slice(name.length + 1)) : undefined;
}

/** A stable id for this browser's guest account. */
export function deviceId(): string {
  let id = localStorage.getItem("arcadia.deviceId");
  if (!id) localStorage.setItem("arcadia.deviceId", (id = `web-${crypto.randomUUID()}`));
  return id;
}

/** A fresh Idempotency-Key for one money operation (a retry of it would reuse the key). */
export const idempotencyKey = () => ({ "Idempotency-Key": crypto.randomUUID() });
