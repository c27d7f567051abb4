import type { OpenAPIRegistry, RouteConfig } from "@asteasolutions/zod-to-openapi";
import express, { type Application, type Request, type RequestHandler, type Response } from "express";
import { z } from "zod";
import { AppError } from "../services/errors";
import { nulPath } from "../services/text";
import { ErrorSchema, toOpenApiPath } from "./openapi";

type Method = "get" | "post" | "put" | "patch" | "delete";
type Security = "bearer" | "sessionToken" | "adminBasic";

export interface RouteSpec<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType> {
  method: Method;
  /** Express path, e.g. "/api/users/:id". */
  path: string;
  summary: string;
  tags: string[];
  security?: Security[];
  body?: B;
  query?: Q;
  params?: P;
  /** Request headers, documented in OpenAPI (the handler reads and checks them). */
  headers?: z.ZodObject;
  /** Documented answers: status → description and (JSON) schema. Error statuses get the envelope. */
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
  /**
   * The body is kept as raw bytes (req.body is a Buffer) for signature checks
   * (webhooks); `body` must then be omitted. The schema documents the payload.
   */
  rawBody?: { contentType: string; limitBytes: number; schema: z.ZodType };
  /** The body is not read: the handler streams `req` itself (uploads). Documents the payload. */
  streamBody?: { contentType: string; schema: z.ZodType };
  /** Runs before validation (auth, rate limits). */
  before?: RequestHandler[];
  handler: (req: ValidRequest<z.output<B>, z.output<Q>, z.output<P>>, res: Response) => unknown;
}

export interface ValidRequest<B, Q, P> extends Request {
  valid: { body: B; query: Q; params: P };
}

/**
 * The only way routes are added: each one is registered in the OpenAPI document
 * and mounted on Express from the same zod schemas, so the document cannot drift
 * from what is validated. A test walks the Express stack to prove it.
 */
export class Api {
  constructor(
    readonly app: Application,
    readonly registry: OpenAPIRegistry,
    private readonly jsonLimitBytes: number,
  ) {}

  route<
    B extends z.ZodType = z.ZodUndefined,
    Q extends z.ZodType = z.ZodUndefined,
    P extends z.ZodType = z.ZodUndefined,
  >(spec: RouteSpec<B, Q, P>): void {
    const body = spec.body && strict(spec.body);
    this.registry.registerPath(this.document(spec, body));
    const chain: RequestHandler[] = [...(spec.before ?? [])];
    if (body) chain.push(requireJson, express.json({ limit: this.jsonLimitBytes }));
    if (spec.rawBody) chain.push(express.raw({ type: () => true, limit: spec.rawBody.limitBytes }));
    chain.push(validate(body, spec.query, spec.params));
    chain.push((req, res) => spec.handler(req as ValidRequest<any, any, any>, res));
    this.app[spec.method](spec.path, ...chain);
  }

  private document(spec: RouteSpec<any, any, any>, body?: z.ZodType): RouteConfig {
    const responses: RouteConfig["responses"] = {};
    for (const [status, r] of Object.entries(spec.responses)) {
      const schema = r.schema ?? (Number(status) >= 400 ? ErrorSchema : undefined);
      responses[status] = schema
        ? { description: r.description, content: { [r.contentType ?? "application/json"]: { schema } } }
        : { description: r.description };
    }
    if (body && !responses[400])
      responses[400] = { description: "Validation failed", content: { "application/json": { schema: ErrorSchema } } };
    return {
      method: spec.method,
      path: toOpenApiPath(spec.path),
      summary: spec.summary,
      tags: spec.tags,
      security: spec.security?.map((name) => ({ [name]: [] })),
      request: {
        body: body
          ? { required: true, content: { "application/json": { schema: body } } }
          : (spec.rawBody ?? spec.streamBody)
            ? {
                required: true,
                content: {
                  [(spec.rawBody ?? spec.streamBody)!.contentType]: {
                    schema: (spec.rawBody ?? spec.streamBody)!.schema,
                  },
                },
              }
            : undefined,
        query: spec.query as any,
        params: spec.params as any,
        headers: spec.headers as any,
      },
      responses,
    };
  }
}

/** Unknown body fields are a 400, never silently dropped (mass assignment). */
function strict(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodObject ? schema.strict() : schema;
}

/** 415 for a request that carries a body that is not JSON on a JSON route. */
const requireJson: RequestHandler = (req, _res, next) => {
  const hasBody = req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
  if (hasBody && !req.is(["application/json", "application/*+json"])) {
    return next(new AppError(415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json"));
  }
  next();
};

function validate(body?: z.ZodType, query?: z.ZodType, params?: z.ZodType): RequestHandler {
  return (req, _res, next) => {
    const issues: Array<{ in: string; path: string; message: string }> = [];
    const parse = (where: string, schema: z.ZodType | undefined, value: unknown) => {
      if (!schema) return undefined;
      const result = schema.safeParse(value);
      // Checked on the validated value: user-typed text (CleanText) has had control characters removed already.
      const nul = result.success ? nulPath(result.data) : undefined;
      if (nul !== undefined) issues.push({ in: where, path: nul, message: "must not contain NUL characters" });
      if (result.success) return result.data;
      for (const issue of result.error.issues) {
        issues.push({ in: where, path: issue.path.join("."), message: issue.message });
      }
      return undefined;
    };
    const valid = {
      body: parse("body", body, req.body ?? {}),
      query: parse("query", query, req.query),
      params: parse("params", params, req.params),
    };
    if (issues.length) return next(new AppError(400, "VALIDATION_FAILED", "Request validation failed", issues));
    (req as ValidRequest<unknown, unknown, unknown>).valid = valid;
    next();
  };
}
