import type { Hono } from "hono";
import * as z from "zod";
import { BOOKMARK, BOOKMARK_HEADER, MAX_BOOKMARK_LENGTH } from "../db/session";
import type { AppEnv } from "../env";
import type { ErrorStatus, Operation } from "./operation";

const INFO = {
  title: "Flashgate API: repository API keys",
  version: "1.0.0",
  description:
    "Storage keys (S3-style access key + secret) and AI keys for Flashback-style repositories. " +
    "Authenticate with `Authorization: Bearer <JWT>`. Secrets are returned once, at creation. " +
    `Reads may come from a replica: send back the last answer's \`${BOOKMARK_HEADER}\` to read your writes.`,
};

/**
 * Where the API is: the origin serving this document (OpenAPI resolves a relative server URL
 * against it), so /docs shows `curl http://127.0.0.1:8787/health` locally and the deployed URL
 * when deployed, while the document stays the same wherever it is served (client/openapi.json).
 */
const SERVERS = [{ url: "/", description: "The origin serving this document" }];

/** Each tag's description: the docs page shows it above the tag's operations. */
const TAGS: Record<string, string> = {
  Service: "Liveness and this document; no token needed.",
  Workspaces:
    "A workspace holds repositories and members. A member's role (READ, WRITE or ADMIN) applies to every repository of the workspace; whoever creates a workspace is its first ADMIN.",
  Repositories:
    "A repository belongs to one workspace and holds its storage and AI keys (`/repo/{repoId}/…`).",
  "Storage API keys":
    "S3-style keys for a repository's storage: an access key id (`FBAK…`) and a secret, shown once at creation or roll. The S3 gateway verifies requests signed with them.",
  "AI API keys":
    "Keys for AI providers (`aiType`): an `FB_AI_…` key and an `fbai_sk_…` secret, shown once at creation or roll.",
  "AI providers":
    "A repository's own keys at AI providers, one per type, set by its ADMINs: what the AI gateway calls the provider with for the repository's AI keys. Stored sealed; answers show the last 4 characters only.",
  Audit:
    "Who changed what, newest first: workspaces, members, repositories and keys. For a workspace's ADMINs.",
  "Leaked secrets":
    "Reports of secrets found in public: from GitHub's secret scanning (signed by GitHub), or from the key's owner. A leaked key is disabled (or revoked, or only flagged: the workspace's leak response).",
  "Verification (gateways)":
    "For gateways, with a gateway token (scope `keys:verify`): is this signed S3 request, or this AI secret, from a valid key, and what may it do?",
};

/** Statuses any operation may answer, beyond those its definition lists. */
type DocumentedStatus = ErrorStatus | 429 | 500 | 503;

interface ErrorResponse {
  /** Its name under components.responses, where each is written once and referenced. */
  name: string;
  description: string;
  example: Record<string, unknown>;
  headers?: Record<string, { description: string; schema: Record<string, unknown> }>;
}

/** Each error status: what it means, and one envelope as the API really sends it. */
const ERRORS: Record<DocumentedStatus, ErrorResponse> = {
  400: {
    name: "BadRequest",
    description:
      "Invalid request: malformed JSON, unknown or missing fields, wrong types or values",
    example: {
      message: "Invalid request body. name: must not be empty",
      code: "VALIDATION_FAILED",
      issues: [{ path: "name", message: "must not be empty" }],
    },
  },
  401: {
    name: "Unauthorized",
    description: "Missing, malformed, expired or unverifiable bearer token",
    example: { message: "The access token has expired", code: "UNAUTHORIZED" },
    headers: {
      "WWW-Authenticate": {
        description:
          '`Bearer` when the request carried no bearer token (RFC 6750 §3.1); `Bearer error="invalid_token"` when its token was refused',
        schema: { type: "string" },
      },
    },
  },
  403: {
    name: "Forbidden",
    description: "Insufficient permissions (also for resources that do not exist)",
    example: { message: "Insufficient permissions", code: "FORBIDDEN" },
  },
  404: {
    name: "NotFound",
    description: "Not found",
    example: { message: "API key not found in this repository", code: "NOT_FOUND" },
  },
  409: {
    name: "Conflict",
    description: "Conflict with the current state (duplicate, last admin, quota)",
    example: { message: "That user is already a member of this workspace", code: "CONFLICT" },
  },
  413: {
    name: "PayloadTooLarge",
    description: "Request body over 64 KiB",
    example: { message: "Request body must be at most 64 KiB", code: "PAYLOAD_TOO_LARGE" },
  },
  415: {
    name: "UnsupportedMediaType",
    description: "Request body is not application/json",
    example: {
      message:
        'Request body must be JSON, sent with "Content-Type: application/json" (got "text/plain")',
      code: "UNSUPPORTED_MEDIA_TYPE",
    },
  },
  429: {
    name: "TooManyRequests",
    description:
      "Too many failed authentications from this client address (AUTH_FAILURES, default 100 a minute); wait Retry-After seconds. Only failures are refused: a token that verifies is accepted from that address too",
    example: {
      message: "Too many failed authentications from this address; try again in 60 seconds",
      code: "RATE_LIMITED",
    },
    headers: {
      "Retry-After": {
        description: "Seconds to wait before trying again",
        schema: { type: "integer", minimum: 1 },
      },
    },
  },
  500: {
    name: "InternalError",
    description: "Unexpected failure; nothing to fix on the caller's side, try again",
    example: { message: "Internal server error; try again later", code: "INTERNAL" },
  },
  503: {
    name: "ServiceUnavailable",
    description: "The service is misconfigured (token verification or encryption keys)",
    example: {
      message:
        "The service's encryption keys are misconfigured; nothing was changed. Try again later.",
      code: "SERVICE_UNAVAILABLE",
    },
  },
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
    // A parameter is documented as what it means (limit: an integer), as OpenAPI serializes it;
    // the validator still reads the raw string strictly.
    const { description, ...json } = schemaOf(fieldSchema, "output");
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

/** The error statuses an operation can answer, in order. */
function errorStatuses(op: Operation): DocumentedStatus[] {
  const statuses = new Set<DocumentedStatus>([401, 429, 500, 503, ...(op.errors ?? [])]);
  if (!op.everyUser) statuses.add(403);
  // Only input can be refused as invalid: with no path, query or body there is nothing to refuse.
  if (op.params || op.query || op.body) statuses.add(400);
  if (op.body) {
    statuses.add(413);
    statuses.add(415);
  }
  return [...statuses].sort((a, b) => a - b);
}

/** The D1 bookmark a success carries (src/db/session.ts); a refusal carries none. */
const bookmarkHeader = {
  [BOOKMARK_HEADER]: {
    description: "The database position reached; sent back, later reads are at least as fresh",
    schema: { type: "string", pattern: BOOKMARK.source, maxLength: MAX_BOOKMARK_LENGTH },
  },
};

/** The error responses, each with an example envelope, for components.responses. */
function errorResponses() {
  return Object.fromEntries(
    Object.values(ERRORS).map(({ name, description, example, headers }) => {
      const response = {
        description,
        ...(headers ? { headers } : {}),
        content: {
          "application/json": {
            schema: { $ref: `${COMPONENT_PREFIX}Error` },
            example: {
              success: false,
              ...example,
              requestId: "0f8e2c4a-5b7d-4e1f-9a3c-6d2b8e4f1a7c",
            },
          },
        },
      };
      return [name, response];
    }),
  );
}

/** The routes that describe the API rather than belong to it: public, no token. */
const SERVICE_PATHS = {
  "/health": {
    get: {
      operationId: "health",
      summary: "Liveness check",
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
  "/openapi.json": {
    get: {
      operationId: "openApiDocument",
      summary: "This OpenAPI 3.1 document",
      tags: ["Service"],
      security: [],
      responses: {
        200: {
          description: "The document",
          content: json({ type: "object", required: ["openapi", "info", "paths"] }),
        },
      },
    },
  },
};

/**
 * The OpenAPI 3.1 document, written from the operations' own zod schemas: the schemas that
 * validate requests and type the handlers are the only description of the API.
 */
export function openApiDocument(operations: Operation[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const responses: Record<string, unknown> = {
      [op.success.status]: {
        description: op.success.description,
        headers: bookmarkHeader,
        ...(op.success.status === 204
          ? {}
          : { content: json(schemaOf(op.success.schema, "output")) }),
      },
    };
    for (const status of errorStatuses(op)) {
      responses[status] = { $ref: `#/components/responses/${ERRORS[status].name}` };
    }
    paths[op.path] ??= {};
    (paths[op.path] as Record<string, unknown>)[op.method] = {
      operationId: op.operationId,
      summary: op.summary,
      tags: op.tags,
      security: [
        op.authentication === "githubSignature" ? { githubSignature: [] } : { bearerAuth: [] },
      ],
      parameters: [...parameters(op.params, "path"), ...parameters(op.query, "query")],
      ...(op.body
        ? {
            requestBody: {
              required: op.bodyOptional !== true,
              content: json(schemaOf(op.body, "input")),
            },
          }
        : {}),
      responses,
    };
  }
  const { schemas } = z.toJSONSchema(z.globalRegistry, {
    uri: (id) => COMPONENT_PREFIX + id,
    unrepresentable: "any",
  }) as { schemas: Record<string, JsonSchema> };
  for (const schema of Object.values(schemas)) {
    // Components are named by their key; a `$id` holding a fragment is not valid JSON Schema.
    delete schema.$schema;
    delete schema.$id;
    delete schema.id;
  }
  // Tags in the order the API lists them, so the docs page groups operations that way.
  const tags = [...new Set(["Service", ...operations.flatMap((op) => op.tags)])];
  return {
    openapi: "3.1.0",
    info: INFO,
    servers: SERVERS,
    tags: tags.map((name) => ({ name, description: TAGS[name] })),
    paths: { ...SERVICE_PATHS, ...paths },
    components: {
      schemas,
      responses: errorResponses(),
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
        githubSignature: {
          type: "apiKey",
          in: "header",
          name: "Github-Public-Key-Signature",
          description:
            "GitHub's base64 DER ECDSA P-256 / SHA-256 signature over the raw body, with the key named by `Github-Public-Key-Identifier` (one of those at SECRET_SCANNING_KEYS_URL).",
        },
      },
    },
  };
}

/** Mounts GET /openapi.json. The /docs page that reads it is a static asset (assets/docs/). */
export function mountOpenApi(app: Hono<AppEnv>, operations: Operation[]) {
  let document: ReturnType<typeof openApiDocument> | undefined;
  app.get("/openapi.json", (c) => {
    document ??= openApiDocument(operations);
    return c.json(document);
  });
}
