import de from "./locales/de.json";
import en from "./locales/en.json";
import es from "./locales/es.json";
import fr from "./locales/fr.json";
import pt from "./locales/pt.json";

/**
 * The translations shipped with the server. At every start, languages and messages missing from
 * the database are inserted; rows already there (an admin's edits, a deactivated language) are
 * kept. The first language is the default of a fresh install.
 */
export const SHIPPED_LANGUAGES: ReadonlyArray<{ code: string; name: string; messages: Record<string, string> }> = [
  { code: "en", name: "English", messages: en },
  { code: "es", name: "Español", messages: es },
  { code: "fr", name: "Français", messages: fr },
  { code: "de", name: "Deutsch", messages: de },
  { code: "pt", name: "Português", messages: pt },
];
