import type { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../env";
import type { ErrorStatus, Operation } from "./operation";

const INFO = {
  title: "Flashgate API: repository API keys",
  version: "1.0.0",
  description:
    "Storage keys (S3-style access key + secret) and AI keys for Flashback-style repositories. " +
    "Authenticate with `Authorization: Bearer <JWT>`. Secrets are returned once, at creation.",
};

const ERROR_DESCRIPTIONS: Record<ErrorStatus, string> = {
  400: "Invalid request: malformed JSON, unknown or missing fields, wrong types or values",
  401: "Missing, malformed, expired or unverifiable bearer token",
  403: "Insufficient permissions (also for resources that do not exist)",
  404: "Not found",
  409: "Conflict with the current state (duplicate, last admin, quota)",
  413: "Request body over 64 KiB",
  415: "Request body is not application/json",
};

type JsonSchema = Record<string, unknown>;
const COMPONENT_PREFIX = "#/components/schemas/";

/** JSON Schema (2020-12, OpenAPI 3.1's dialect) for a schema; registered ones become $refs. */
function schemaOf(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const id = z.globalRegistry.get(schema)?.id;
  if (id) return { $ref: COMPONENT_PREFIX + id };
  const { $schema: _, ...json } = z.toJSONSchema(schema, {
    io,
    unrepresentable: "any",
  }) as JsonSchema;
  return json;
}

function parameters(schema: z.ZodObject | undefined, where: "path" | "query") {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => {
    const fieldSchema = field as z.ZodType;
    const { description, ...json } = schemaOf(fieldSchema, "input");
    return {
      name,
      in: where,
      required: where === "path" || !fieldSchema.safeParse(undefined).success,
      ...(description ? { description } : {}),
      schema: json,
    };
  });
}

const json = (schema: JsonSchema) => ({ "application/json": { schema } });

/**
 * The OpenAPI 3.1 document, written from the operations' own zod schemas: the schemas that
 * validate requests and type the handlers are the only description of the API.
 */
export function openApiDocument(operations: Operation[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const errors = new Set<ErrorStatus>([400, 401, 403, ...(op.errors ?? [])]);
    if (op.body) {
      errors.add(413);
      errors.add(415);
    }
    const responses: Record<string, unknown> = {
      [op.success.status]: {
        description: op.success.description,
        content: json(schemaOf(op.success.schema, "output")),
      },
    };
    for (const status of [...errors].sort()) {
      responses[status] = {
        description: ERROR_DESCRIPTIONS[status],
        content: json({ $ref: `${COMPONENT_PREFIX}Error` }),
      };
    }
    paths[op.path] ??= {};
    (paths[op.path] as Record<string, unknown>)[op.method] = {
      operationId: op.operationId,
      summary: op.summary,
      tags: op.tags,
      security: [{ bearerAuth: [] }],
      parameters: [...parameters(op.params, "path"), ...parameters(op.query, "query")],
      ...(op.body
        ? { requestBody: { required: true, content: json(schemaOf(op.body, "input")) } }
        : {}),
      responses,
    };
  }
  const { schemas } = z.toJSONSchema(z.globalRegistry, {
    uri: (id) => COMPONENT_PREFIX + id,
    unrepresentable: "any",
  }) as { schemas: Record<string, JsonSchema> };
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.id;
  }
  return {
    openapi: "3.1.0",
    info: INFO,
    paths: {
      "/health": {
        get: {
          operationId: "health",
          summary: "Liveness check (no token needed)",
          tags: ["Service"],
          security: [],
          responses: {
            200: {
              description: "The service is up",
              content: json({
                type: "object",
                properties: { status: { const: "ok" } },
                required: ["status"],
              }),
            },
          },
        },
      },
      ...paths,
    },
    components: {
      schemas,
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
    },
  };
}

/** Mounts GET /openapi.json and GET /docs (an interactive reference page, no account needed). */
export function mountDocs(app: Hono<AppEnv>, operations: Operation[]) {
  let document: ReturnType<typeof openApiDocument> | undefined;
  app.get("/openapi.json", (c) => {
    document ??= openApiDocument(operations);
    return c.json(document);
  });
  app.get("/docs", (c) =>
    c.html(`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${INFO.title}</title>
  </head>
  <body>
    <script id="api-reference" data-url="/openapi.json"></script>
    <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference@1"></script>
  </body>
</html>`),
  );
}
