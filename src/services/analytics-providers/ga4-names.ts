/**
 * The Measurement Protocol's naming rules (what `/debug/mp/collect` reports as invalid):
 * names ≤ 40 characters of letters, digits and `_`, starting with a letter, none of the
 * reserved event names or prefixes; ≤ 25 parameters an event; string values ≤ 100 characters.
 */
export const GA4_NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;
export const GA4_RESERVED_PREFIXES = ["_", "firebase_", "ga_", "google_", "gtag."];
export const GA4_RESERVED_EVENTS = new Set([
  "ad_activeview",
  "ad_click",
  "ad_exposure",
  "ad_impression",
  "ad_query",
  "ad_reward",
  "adunit_exposure",
  "app_background",
  "app_clear_data",
  "app_exception",
  "app_remove",
  "app_store_refund",
  "app_store_subscription_cancel",
  "app_store_subscription_convert",
  "app_store_subscription_renew",
  "app_update",
  "app_upgrade",
  "dynamic_link_app_open",
  "dynamic_link_app_update",
  "dynamic_link_first_open",
  "error",
  "first_open",
  "first_visit",
  "in_app_purchase",
  "notification_dismiss",
  "notification_foreground",
  "notification_open",
  "notification_receive",
  "os_update",
  "session_start",
  "session_start_with_rollout",
  "user_engagement",
]);
export const GA4_MAX_PARAMS = 25;
export const GA4_MAX_VALUE_LENGTH = 100;

/** A valid, stable GA4 name for one of ours (`match.found` → `match_found`). */
export function ga4Name(name: string, isEvent: boolean): string {
  let n = name.replace(/[^A-Za-z0-9_]/g, "_");
  if (!/^[A-Za-z]/.test(n) || GA4_RESERVED_PREFIXES.some((p) => n.startsWith(p))) n = `app_${n}`;
  if (isEvent && GA4_RESERVED_EVENTS.has(n)) n = `app_${n}`;
  return n.slice(0, 40);
}
