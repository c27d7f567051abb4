import { z } from "zod";
import type { Services } from "../../services";
import type { Api } from "../api";
import { principalOf, requireAuth } from "../auth-middleware";
import { DisplayName, LanguageTag, UserIdParams, UserSchema } from "../schemas";

/** /api/users/:id: profiles. */
export function registerUserRoutes(api: Api, services: Services) {
  const signedIn = requireAuth(services.auth);
  const tags = ["users"];

  api.route({
    method: "get",
    path: "/api/users/:id",
    summary: "A user's profile (contact details only for the user and admins)",
    tags,
    security: ["bearer"],
    before: [signedIn],
    params: UserIdParams,
    responses: { 200: { description: "Profile", schema: UserSchema }, 404: { description: "No such user" } },
    handler: async (req, res) => {
      res.json(await services.users.get(principalOf(req), req.valid.params.id));
    },
  });

  api.route({
    method: "put",
    path: "/api/users/:id",
    summary: "Edit a profile (the user or an admin)",
    tags,
    security: ["bearer"],
    before: [signedIn],
    params: UserIdParams,
    body: z.object({
      displayName: DisplayName.optional(),
      locale: LanguageTag.nullable()
        .optional()
        .openapi({ description: "preferred language for server texts (BCP 47); null: negotiate per request" }),
    }),
    responses: { 200: { description: "Updated profile", schema: UserSchema }, 403: { description: "Not yours" } },
    handler: async (req, res) => {
      res.json(await services.users.update(principalOf(req), req.valid.params.id, req.valid.body));
    },
  });

  api.route({
    method: "delete",
    path: "/api/users/:id",
    summary: "Delete an account: personal data anonymised, every token revoked (the user or an admin)",
    tags,
    security: ["bearer"],
    before: [signedIn],
    params: UserIdParams,
    responses: { 204: { description: "Deleted" }, 403: { description: "Not yours" } },
    handler: async (req, res) => {
      await services.users.delete(principalOf(req), req.valid.params.id);
      res.status(204).end();
    },
  });
}
