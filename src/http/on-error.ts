import type { ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../env";
import { ApiError, type ErrorCode } from "./error";
import { log, routeOf } from "./log";

const CODE_FOR_STATUS: Record<number, ErrorCode> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
};

/** Hono's own exceptions (malformed JSON, body limit) become ApiErrors; anything else is a 500. */
function asApiError(error: Error): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof HTTPException) {
    const code = CODE_FOR_STATUS[error.status];
    if (code) {
      const message =
        error.message && !/^(Bad Request|Unsupported Media Type)$/.test(error.message)
          ? error.message
          : "The request body is not valid JSON";
      return new ApiError(code, message);
    }
  }
  return undefined;
}

/** The one place an error becomes a response: `{success:false, message, code, requestId, issues?}`. */
export const onError: ErrorHandler<AppEnv> = (error, c) => {
  const requestId = c.get("requestId");
  const apiError = asApiError(error);
  if (!apiError) {
    // The route pattern, not the path: the caller chose the path and could have put anything in it.
    log.error("unhandled error", {
      requestId,
      method: c.req.method,
      route: routeOf(c),
      error,
      stack: error instanceof Error ? error.stack : undefined,
    });
  } else if (apiError.code === "SERVICE_UNAVAILABLE") {
    log.error(apiError.message, { requestId });
  }
  const failure = apiError ?? new ApiError("INTERNAL", "Internal server error; try again later");
  // A refused token's challenge (RFC 6750 §3.1), unless the error names its own (no credentials).
  if (failure.code === "UNAUTHORIZED" && !failure.headers?.["WWW-Authenticate"]) {
    c.header("WWW-Authenticate", 'Bearer error="invalid_token"');
  }
  for (const [name, value] of Object.entries(failure.headers ?? {})) c.header(name, value);
  c.header("Cache-Control", "no-store");
  return c.json(
    {
      success: false as const,
      message: failure.message,
      code: failure.code,
      requestId,
      ...(failure.issues ? { issues: failure.issues } : {}),
    },
    failure.status,
  );
};

export const notFound: NotFoundHandler<AppEnv> = (c) =>
  onError(new ApiError("NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`), c);
