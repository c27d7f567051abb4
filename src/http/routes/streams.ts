import { z } from "zod";
import type { Services } from "../../services";
import type { Api } from "../api";
import { principalOf, requireAuth } from "../auth-middleware";
import { CleanText, MessagePageQuery, TimePageQuery } from "../schemas";

const StreamSchema = z
  .object({
    id: z.uuid(),
    ownerId: z.uuid(),
    title: z.string(),
    description: z.string().nullable(),
    status: z.enum(["live", "ended"]),
    viewerCount: z.number().int(),
    createdAt: z.iso.datetime(),
    endedAt: z.iso.datetime().nullable(),
  })
  .openapi("Stream");
const StreamMessageSchema = z
  .object({
    id: z.string(),
    userId: z.uuid(),
    displayName: z.string(),
    text: z.string(),
    createdAt: z.iso.datetime(),
  })
  .openapi("StreamMessage");
const StreamIdParams = z.object({ id: z.uuid() });
const Title = CleanText(1, 120);
const Description = CleanText(0, 2000);

/** Livestreams: CRUD over HTTP; the live side is the `stream` room. */
export function registerStreamRoutes(api: Api, services: Services) {
  const signedIn = requireAuth(services.auth);
  const { streams } = services;

  api.route({
    method: "get",
    path: "/api/streams",
    summary: "Live streams, newest first, with viewer counts",
    tags: ["streams"],
    query: TimePageQuery,
    responses: {
      200: {
        description: "A page of live streams",
        schema: z.object({ streams: z.array(StreamSchema), nextCursor: z.string().nullable() }),
      },
    },
    handler: async (req, res) => {
      res.json(await streams.listLive(req.valid.query));
    },
  });

  api.route({
    method: "post",
    path: "/api/streams",
    summary: "Go live (one live stream per owner)",
    tags: ["streams"],
    security: ["bearer"],
    before: [signedIn],
    body: z.object({ title: Title, description: Description.optional() }),
    responses: {
      201: { description: "The new live stream", schema: StreamSchema },
      409: { description: "STREAM_ALREADY_LIVE" },
    },
    handler: async (req, res) => {
      res.status(201).json(await streams.create(principalOf(req), req.valid.body));
    },
  });

  api.route({
    method: "get",
    path: "/api/streams/:id",
    summary: "One stream, live or ended",
    tags: ["streams"],
    params: StreamIdParams,
    responses: { 200: { description: "The stream", schema: StreamSchema }, 404: { description: "STREAM_NOT_FOUND" } },
    handler: async (req, res) => {
      res.json(await streams.get(req.valid.params.id));
    },
  });

  api.route({
    method: "put",
    path: "/api/streams/:id",
    summary: "Change the title or description (owner or admin); pushes streamUpdate to the room",
    tags: ["streams"],
    security: ["bearer"],
    before: [signedIn],
    params: StreamIdParams,
    body: z.object({ title: Title.optional(), description: Description.nullable().optional() }),
    responses: {
      200: { description: "The updated stream", schema: StreamSchema },
      403: { description: "Not the owner" },
      404: { description: "STREAM_NOT_FOUND" },
      410: { description: "STREAM_ENDED" },
    },
    handler: async (req, res) => {
      res.json(await streams.update(req.valid.params.id, principalOf(req), req.valid.body));
    },
  });

  api.route({
    method: "delete",
    path: "/api/streams/:id",
    summary: "End the stream (owner or admin); pushes streamEnded and closes the room",
    tags: ["streams"],
    security: ["bearer"],
    before: [signedIn],
    params: StreamIdParams,
    responses: {
      204: { description: "Ended" },
      403: { description: "Not the owner" },
      404: { description: "STREAM_NOT_FOUND" },
    },
    handler: async (req, res) => {
      await streams.end(req.valid.params.id, principalOf(req));
      res.status(204).end();
    },
  });

  api.route({
    method: "get",
    path: "/api/streams/:id/messages",
    summary: "A stream's chat history, newest first (deleted messages left out)",
    tags: ["streams"],
    params: StreamIdParams,
    query: MessagePageQuery,
    responses: {
      200: {
        description: "A page of messages",
        schema: z.object({ messages: z.array(StreamMessageSchema), nextCursor: z.string().nullable() }),
      },
      404: { description: "STREAM_NOT_FOUND" },
    },
    handler: async (req, res) => {
      res.json(await streams.messages(req.valid.params.id, req.valid.query));
    },
  });
}
