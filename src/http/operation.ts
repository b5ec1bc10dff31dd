import { zValidator } from "@hono/zod-validator";
import type { Context, Hono, MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type * as z from "zod";
import { BOOKMARK_HEADER, inSession, isBookmark } from "../db/session";
import type { AppEnv } from "../env";
import { ApiError } from "./error";
import { jsonBody } from "./json-body";
import { validationError } from "./validation-error";

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415;

/**
 * One API operation: its path, its request and response schemas, and nothing else. The same
 * object validates requests (`mount`), types handlers and writes the OpenAPI document.
 */
export interface Operation {
  method: "get" | "post" | "put" | "delete";
  /** OpenAPI-style path: /repo/{repoId}/apikey */
  path: string;
  operationId: string;
  summary: string;
  tags: string[];
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The body may be left out entirely; it then reads as {} (e.g. a roll with the defaults). */
  bodyOptional?: true;
  /** 204 answers with no body: its schema is `z.void()` and the handler returns nothing. */
  success: { status: 200 | 201 | 204; schema: z.ZodType; description: string };
  /** Error statuses beyond those every authenticated operation has (400, 401, 403). */
  errors?: ErrorStatus[];
  /** Any signed-in user may call it on their own data: it never answers 403. */
  everyUser?: true;
  /**
   * A POST that only reads (a verification): like a GET, its reads may come from a replica.
   * Bookkeeping after the answer (a key's lastUsedAt) does not make it a write.
   */
  readOnly?: true;
  /**
   * How a caller proves who it is, when not with a bearer token: `githubSignature` is GitHub's
   * ECDSA signature over the body (src/leaks). The OpenAPI document says which.
   */
  authentication?: "githubSignature";
}

/** Whether `operation` only reads, so its D1 session may start on any replica. */
const onlyReads = (operation: Operation) =>
  operation.method === "get" || operation.readOnly === true;

/** Declares an operation; `const` keeps its schemas' types for the handler. */
export const defineOperation = <const O extends Operation>(operation: O): O => operation;

type Out<S> = S extends z.ZodType ? z.output<S> : Record<string, never>;

export interface OperationInput<O extends Operation> {
  params: Out<O["params"]>;
  query: Out<O["query"]>;
  body: Out<O["body"]>;
}

export type OperationHandler<O extends Operation> = (
  c: Context<AppEnv>,
  input: OperationInput<O>,
) => Promise<z.input<O["success"]["schema"]>>;

function validate(target: "param" | "query", schema: z.ZodType): MiddlewareHandler<AppEnv> {
  return zValidator(
    target,
    schema,
    (result) => {
      if (!result.success) throw validationError(result.error, target, schema);
    },
    // Our schemas are synchronous; skip the async parser's overhead. reportInput tells a
    // missing value from a wrong one; the input itself never reaches the answer.
    { validationFunction: (s, value) => s.safeParse(value, { reportInput: true }) },
  ) as MiddlewareHandler<AppEnv>;
}

/**
 * One D1 session per request (src/db/session.ts): the handler's `c.env.DB` runs in it. A write
 * starts on the primary, whatever bookmark came with it (the primary is at least as fresh as
 * any). A read starts at the caller's X-D1-Bookmark, or on the nearest replica without one.
 * Only a success carries the session's latest bookmark: the position rises with every tenant's
 * writes, and a refusal (400, 403, 404, 409) read or wrote nothing the caller may see.
 */
function d1Session(operation: Operation): MiddlewareHandler<AppEnv> {
  const reads = onlyReads(operation);
  return async (c, next) => {
    // An empty header is no bookmark (D1's own examples answer "" when there is none).
    const sent = c.req.header(BOOKMARK_HEADER) || undefined;
    if (sent !== undefined && !isBookmark(sent)) {
      throw new ApiError(
        "BAD_REQUEST",
        `${BOOKMARK_HEADER} is not a bookmark this API sent: send back the last one received, or none`,
      );
    }
    const { env, session } = inSession(
      c.env,
      reads ? (sent ?? "first-unconstrained") : "first-primary",
    );
    c.env = env;
    await next();
    if (!c.res.ok) return;
    // Only what this check accepts is handed out, so a client sending it back is never refused.
    const bookmark = session.getBookmark();
    if (bookmark && isBookmark(bookmark)) c.header(BOOKMARK_HEADER, bookmark);
  };
}

/** An operation and the handler that performs it. */
export interface Route<O extends Operation = Operation> {
  operation: O;
  handler: OperationHandler<O>;
}

export const route = <const O extends Operation>(
  operation: O,
  handler: OperationHandler<O>,
): Route<O> => ({ operation, handler });

/** /repo/{repoId}/apikey as hono writes it: /repo/:repoId/apikey */
export const honoPathOf = (path: string) => path.replace(/\{(\w+)\}/g, ":$1");

/**
 * Registers a route on `app`: its D1 session, validation of path, query and body, then the
 * handler's JSON.
 */
export function mount<O extends Operation>(
  app: Hono<AppEnv>,
  { operation, handler }: Route<O>,
): void {
  // The session first: the handler's `c.env.DB` runs in it.
  const before: MiddlewareHandler<AppEnv>[] = [d1Session(operation)];
  if (operation.params) before.push(validate("param", operation.params));
  if (operation.query) before.push(validate("query", operation.query));
  // Only an operation that takes a body reads one; the others ignore whatever was sent.
  if (operation.body) {
    before.push(jsonBody(operation.body, { optional: operation.bodyOptional === true }));
  }
  const honoPath = honoPathOf(operation.path);
  const status = operation.success.status as ContentfulStatusCode;
  const respond: MiddlewareHandler<AppEnv> = async (c) => {
    // The validators above stored each part; their types are the operation's schemas' outputs.
    const req = c.req as unknown as { valid(target: string): unknown };
    const input = {
      params: operation.params ? req.valid("param") : {},
      query: operation.query ? req.valid("query") : {},
      body: operation.body ? req.valid("json") : {},
    } as OperationInput<O>;
    const answer = await handler(c, input);
    return operation.success.status === 204 ? c.body(null, 204) : c.json(answer, status);
  };
  app.on([operation.method.toUpperCase()], [honoPath], ...before, respond);
}
