import type { z } from "@hono/zod-openapi";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { ApiError } from "./error";

/** Turns a failed zod validation into the API's one error type, with every issue listed. */
export function validationError(error: z.ZodError, target: string): ApiError {
  const issues = error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.join(".") : target,
    message: issue.message,
  }));
  const first = issues[0];
  const summary = first ? `${first.path}: ${first.message}` : `invalid ${target}`;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  return new ApiError("VALIDATION_FAILED", `Invalid request ${target}. ${summary}${more}`, issues);
}

/** Every router of the app, so each validates with the same hook and errors the same way. */
export function newRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target);
    },
  });
}
