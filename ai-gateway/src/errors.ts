/** Which provider's wire format a request speaks: its errors are answered in that format too. */
export type Surface = "openai" | "anthropic";

/**
 * A refusal, with the HTTP status an SDK maps to its own exception class (401 → its
 * AuthenticationError, 403 → PermissionDeniedError, …) and a snake_case code for OpenAI's
 * `error.code`. The message is the service's own words: never a secret, a header or a body.
 */
export class AiError extends Error {
  override readonly name = "AiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

// Anthropic's documented error types, by status.
const ANTHROPIC_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  405: "invalid_request_error",
  413: "request_too_large",
  429: "rate_limit_error",
};

// OpenAI answers most refusals as invalid_request_error (a wrong key included) and its own
// failures as server_error.
const OPENAI_TYPES: Record<number, string> = {
  403: "permission_error",
  429: "rate_limit_error",
};

/** The error as `surface`'s provider writes it: the body its SDK parses, with the status. */
export function errorResponse(surface: Surface, error: AiError, requestId: string): Response {
  const body =
    surface === "anthropic"
      ? {
          type: "error",
          error: {
            type: ANTHROPIC_TYPES[error.status] ?? "api_error",
            message: error.message,
          },
          request_id: requestId,
        }
      : {
          error: {
            message: error.message,
            type:
              OPENAI_TYPES[error.status] ??
              (error.status >= 500 ? "server_error" : "invalid_request_error"),
            param: null,
            code: error.code,
          },
        };
  return Response.json(body, { status: error.status, headers: error.headers });
}
