import type { Config } from "../../config";
import { Ga4Provider } from "./ga4";
import { MixpanelProvider } from "./mixpanel";
import { PlausibleProvider } from "./plausible";
import { PostHogProvider } from "./posthog";
import type { AnalyticsProvider } from "./types";

/** The providers whose settings are present; each is off while its variables are unset. */
export function configuredProviders(config: Config): AnalyticsProvider[] {
  const providers: AnalyticsProvider[] = [];
  if (config.POSTHOG_API_KEY) providers.push(new PostHogProvider(config.POSTHOG_API_KEY, config.POSTHOG_HOST));
  if (config.MIXPANEL_TOKEN) providers.push(new MixpanelProvider(config.MIXPANEL_TOKEN, config.MIXPANEL_API_URL));
  if (config.PLAUSIBLE_DOMAIN) providers.push(new PlausibleProvider(config.PLAUSIBLE_DOMAIN, config.PLAUSIBLE_API_URL));
  if (config.GA4_MEASUREMENT_ID && config.GA4_API_SECRET) {
    providers.push(new Ga4Provider(config.GA4_MEASUREMENT_ID, config.GA4_API_SECRET, config.GA4_API_URL));
  }
  return providers;
}
