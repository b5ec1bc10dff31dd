import type { ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../env";
import { ApiError, type ErrorCode, type ErrorIssue } from "./error";
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

/** What an error is answered with: the status, the headers it adds, and the envelope. */
export interface ErrorAnswer {
  status: ContentfulStatusCode;
  headers: Record<string, string>;
  body: {
    success: false;
    message: string;
    code: ErrorCode;
    requestId: string;
    issues?: ErrorIssue[];
  };
}

/**
 * The one place an error becomes an answer: `{success:false, message, code, requestId,
 * issues?}`, logged when it is ours (503) or unexpected. `route` is the pattern matched.
 */
export function errorAnswer(
  error: unknown,
  { requestId, method, route }: { requestId: string; method: string; route: string },
): ErrorAnswer {
  const apiError = error instanceof Error ? asApiError(error) : undefined;
  if (!apiError) {
    // The route pattern, not the path: the caller chose the path and could have put anything in it.
    log.error("unhandled error", {
      requestId,
      method,
      route,
      error,
      stack: error instanceof Error ? error.stack : undefined,
    });
  } else if (apiError.code === "SERVICE_UNAVAILABLE") {
    log.error(apiError.message, { requestId });
  }
  const failure = apiError ?? new ApiError("INTERNAL", "Internal server error; try again later");
  const headers: Record<string, string> = {};
  // A refused token's challenge (RFC 6750 §3.1), unless the error names its own (no credentials).
  if (failure.code === "UNAUTHORIZED" && !failure.headers?.["WWW-Authenticate"]) {
    headers["WWW-Authenticate"] = 'Bearer error="invalid_token"';
  }
  Object.assign(headers, failure.headers);
  headers["Cache-Control"] = "no-store";
  return {
    status: failure.status,
    headers,
    body: {
      success: false as const,
      message: failure.message,
      code: failure.code,
      requestId,
      ...(failure.issues ? { issues: failure.issues } : {}),
    },
  };
}

/** Hono's error handler: the answer of `errorAnswer`, on the request's own headers. */
export const onError: ErrorHandler<AppEnv> = (error, c) => {
  const answer = errorAnswer(error, {
    requestId: c.get("requestId"),
    method: c.req.method,
    route: routeOf(c),
  });
  for (const [name, value] of Object.entries(answer.headers)) c.header(name, value);
  return c.json(answer.body, answer.status);
};

export const notFound: NotFoundHandler<AppEnv> = (c) =>
  onError(new ApiError("NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`), c);
