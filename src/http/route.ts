import { createRoute, type RouteConfig, type z } from "@hono/zod-openapi";
import { ErrorBodySchema } from "./schemas";

const ERROR_DESCRIPTIONS = {
  400: "Invalid request: malformed JSON, unknown or missing fields, wrong types or values",
  401: "Missing, malformed, expired or unverifiable bearer token",
  403: "Insufficient permissions (also for resources that do not exist)",
  404: "Not found",
  409: "Conflict with the current state (duplicate, last admin, quota)",
  413: "Request body over 64 KiB",
  415: "Request body is not application/json",
} as const;

type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

const errorResponse = (status: ErrorStatus) => ({
  description: ERROR_DESCRIPTIONS[status],
  content: { "application/json": { schema: ErrorBodySchema } },
});

/** A JSON request body; always required, so a missing one is refused, not read as {}. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { "application/json": { schema } } } as const;
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } } as const;
}

/**
 * An authenticated operation: adds the bearer security requirement and the error responses
 * every such route can give (400, 401, 403, plus `errors` and 413/415 when it takes a body).
 */
export function defineRoute<const R extends RouteConfig>(config: R & { errors?: ErrorStatus[] }) {
  const { errors = [], ...route } = config;
  const statuses = new Set<ErrorStatus>([400, 401, 403, ...errors]);
  if (route.request?.body) {
    statuses.add(413);
    statuses.add(415);
  }
  const responses: RouteConfig["responses"] = { ...route.responses };
  for (const status of [...statuses].sort()) responses[status] = errorResponse(status);
  return createRoute({ ...route, security: [{ bearerAuth: [] }], responses } as unknown as R);
}
