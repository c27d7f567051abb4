import { z } from "zod";
import type { Services } from "../../services";
import { MAX_TAG_LENGTH } from "../../services/language-tags";
import type { Api } from "../api";
import { requireAuth, requireRole } from "../auth-middleware";
import { CleanText, LanguageTag } from "../schemas";

const LanguageSchema = z
  .object({
    code: z.string().openapi({ description: "BCP 47 tag, e.g. `en`, `pt-BR`" }),
    name: z.string(),
    active: z.boolean(),
    isDefault: z.boolean().openapi({ description: "exactly one language is the default" }),
  })
  .openapi("Language");
const LangParams = z.object({ lang: z.string().max(MAX_TAG_LENGTH) });
const CodeParams = z.object({ code: z.string().max(MAX_TAG_LENGTH) });
const MessageKey = z
  .string()
  .max(200)
  .regex(/^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+$/, "dot-separated segments of A-Z a-z 0-9 _ -");
const MAX_BULK = 2000;
const Messages = z
  .record(MessageKey, z.string().min(1).max(4000))
  .refine((m) => Object.keys(m).length <= MAX_BULK, `at most ${MAX_BULK} messages per request`)
  .openapi({
    description: "key → ICU MessageFormat text",
    example: { "error.SELF_TIP": "No puedes darte una propina" },
  });
const unknownLanguage = { description: "UNKNOWN_LANGUAGE" };

/** Languages and translations: reads for anyone, changes for admins. */
export function registerI18nRoutes(api: Api, services: Services) {
  const admin = [requireAuth(services.auth), requireRole("admin")];
  const { i18n } = services;
  const tags = ["translations"];

  api.route({
    method: "get",
    path: "/api/languages",
    summary: "Every language, the default first",
    tags,
    responses: { 200: { description: "Languages", schema: z.object({ languages: z.array(LanguageSchema) }) } },
    handler: async (_req, res) => res.json({ languages: await i18n.languages() }),
  });

  api.route({
    method: "post",
    path: "/api/languages",
    summary: "Add a language (admin); it is never the default on creation",
    tags,
    security: ["bearer"],
    before: admin,
    body: z.object({ code: LanguageTag, name: CleanText(1, 64), active: z.boolean().optional() }),
    responses: {
      201: { description: "The new language", schema: LanguageSchema },
      409: { description: "LANGUAGE_EXISTS" },
    },
    handler: async (req, res) => res.status(201).json(await i18n.addLanguage(req.valid.body)),
  });

  api.route({
    method: "put",
    path: "/api/languages/:code",
    summary: "Rename, (de)activate, or make the default (admin); making an inactive language the default activates it",
    tags,
    security: ["bearer"],
    before: admin,
    params: CodeParams,
    body: z.object({
      name: CleanText(1, 64).optional(),
      active: z.boolean().optional(),
      isDefault: z.boolean().optional().openapi({ description: "true moves the default here, atomically" }),
    }),
    responses: {
      200: { description: "The language", schema: LanguageSchema },
      404: unknownLanguage,
      409: {
        description: "DEFAULT_LANGUAGE_INACTIVE (deactivating the default), DEFAULT_LANGUAGE_REQUIRED (unsetting it)",
      },
    },
    handler: async (req, res) => res.json(await i18n.updateLanguage(req.valid.params.code, req.valid.body)),
  });

  api.route({
    method: "get",
    path: "/api/translations/:lang",
    summary: "A language's own messages (no fallbacks); Content-Language is that language",
    tags,
    params: LangParams,
    responses: {
      200: {
        description: "Messages",
        schema: z.object({ lang: z.string(), messages: z.record(z.string(), z.string()) }),
      },
      400: { description: "UNKNOWN_LANGUAGE, INACTIVE_LANGUAGE" },
    },
    handler: async (req, res) => {
      const body = await i18n.messages(req.valid.params.lang);
      res.setHeader("Content-Language", body.lang);
      res.json(body);
    },
  });

  api.route({
    method: "get",
    path: "/api/translations/:lang/missing",
    summary: "Keys of the default language that this language lacks, and its coverage (inactive languages too)",
    tags,
    params: LangParams,
    responses: {
      200: {
        description: "Missing keys",
        schema: z.object({
          lang: z.string(),
          missing: z.array(z.string()),
          coverage: z.number().min(0).max(1).openapi({ description: "share of the default language's keys present" }),
        }),
      },
      400: unknownLanguage,
    },
    handler: async (req, res) => res.json(await i18n.missing(req.valid.params.lang)),
  });

  api.route({
    method: "post",
    path: "/api/translations/bulk",
    summary: "Insert or replace messages of one language (admin): all or none",
    tags,
    security: ["bearer"],
    before: admin,
    body: z.object({ lang: z.string().max(MAX_TAG_LENGTH), messages: Messages }),
    responses: {
      200: {
        description: "Written (messages whose text changed)",
        schema: z.object({ lang: z.string(), written: z.number().int() }),
      },
      400: {
        description:
          "UNKNOWN_LANGUAGE; INVALID_MESSAGES: details list each refused key with its problem (SYNTAX, PLACEHOLDERS, NOT_IN_DEFAULT_LANGUAGE); nothing was written",
      },
    },
    handler: async (req, res) => res.json(await i18n.upsert(req.valid.body.lang, req.valid.body.messages)),
  });
}
