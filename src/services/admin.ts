import { createHash, timingSafeEqual } from "node:crypto";

export interface AdminCredentials {
  email?: string;
  password?: string;
}

/**
 * Checks operator credentials against ADMIN_EMAIL / ADMIN_PASSWORD in constant
 * time (both sides hashed to equal length first). False when none are configured.
 */
export function checkAdminCredentials(configured: AdminCredentials, email: string, password: string): boolean {
  if (!configured.email || !configured.password) return false;
  const emailOk = safeEqual(email.trim().toLowerCase(), configured.email.toLowerCase());
  const passwordOk = safeEqual(password, configured.password);
  return emailOk && passwordOk;
}

function safeEqual(a: string, b: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}
