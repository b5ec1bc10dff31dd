import type { ErrorBody } from "./types.js";

/** Thrown for every answer outside 2xx. Network failures stay the fetch's own errors. */
export class FlashgateError extends Error {
  override readonly name = "FlashgateError";
  /** The HTTP status, e.g. 403. */
  readonly status: number;
  /**
   * The API's error code (`VALIDATION_FAILED`, `UNAUTHORIZED`, `FORBIDDEN`, `NOT_FOUND`,
   * `CONFLICT`, …), or `HTTP_<status>` when the answer did not come from the API (a proxy page).
   */
  readonly code: string;
  /** The X-Request-Id the API answered with: quote it when reporting a problem. */
  readonly requestId: string | undefined;
  /** For `VALIDATION_FAILED`: each refused field and why. */
  readonly issues: ErrorBody["issues"];
  /** The parsed JSON body, or the raw text when the answer was not JSON. */
  readonly body: unknown;

  constructor(status: number, body: unknown, requestId: string | undefined, statusText = "") {
    const envelope = isErrorBody(body) ? body : undefined;
    super(envelope?.message ?? (`${status} ${statusText}`.trim() || `HTTP ${status}`));
    this.status = status;
    this.code = envelope?.code ?? `HTTP_${status}`;
    this.requestId = envelope?.requestId ?? requestId;
    this.issues = envelope?.issues;
    this.body = body;
  }
}

function isErrorBody(body: unknown): body is ErrorBody {
  return (
    typeof body === "object" &&
    body !== null &&
    typeof (body as { message?: unknown }).message === "string"
  );
}
