import type * as z from "zod";
import { BOOKMARK_HEADER, inLazySession, isBookmark } from "../db/session";
import type { Bindings } from "../env";
import { readJsonBody } from "./json-body";
import { log } from "./log";
import { errorAnswer } from "./on-error";
import { honoPathOf, type Operation } from "./operation";

/**
 * An operation's work without the framework: the bindings (in a D1 session), the body and what
 * the guard answered (the caller) in.
 */
export type DirectAnswer<O extends Operation, G = unknown> = (
  env: Bindings,
  body: O["body"] extends z.ZodType ? z.output<O["body"]> : never,
  waitUntil: (promise: Promise<unknown>) => void,
  guarded: G,
) => Promise<z.input<O["success"]["schema"]>>;

/** An operation served in front of Hono's chain (src/app.ts). */
export interface DirectRoute {
  /** Whether this route answers `request`; when not, the app's chain does. */
  takes(request: Request, path: string, env: Bindings): boolean;
  serve(request: Request, env: Bindings, ctx: ExecutionContext | undefined): Promise<Response>;
}

/**
 * The same operation as `mount` serves it (src/http/operation.ts), minus the machinery that
 * does not apply: a POST of a read-only operation with a JSON body, no path or query
 * parameters, asked with no X-D1-Bookmark and with CORS off. Those asked otherwise go through
 * the chain. Every answer is the chain's: the same checks in the same order (`guard`: the
 * middleware `mount`'s caller puts in front, here the keyring and the token), the same status,
 * headers, body and error envelope (`errorAnswer`), and the same request log line. What it
 * leaves out: routing tables, the 405 scan (the method is the route's own), CORS (off), a D1
 * session before anything reads D1 (started by the first statement, so a request answered from
 * memory starts none), and Hono's context and response copies.
 */
export function directRoute<O extends Operation, G>(
  operation: O,
  {
    guard,
    answer,
  }: {
    guard: (request: Request, env: Bindings, requestId: string) => Promise<G>;
    answer: DirectAnswer<O, G>;
  },
): DirectRoute {
  const { body: schema } = operation;
  if (
    !schema ||
    operation.readOnly !== true ||
    operation.params ||
    operation.query ||
    operation.bodyOptional
  ) {
    throw new Error(`${operation.operationId} is not one directRoute serves`);
  }
  const method = operation.method.toUpperCase();
  const route = honoPathOf(operation.path);
  const status = operation.success.status;

  return {
    takes: (request, path, env) =>
      path === operation.path &&
      request.method === method &&
      // The chain answers CORS (src/http/cors.ts) and a client's bookmark (operation.ts).
      !env.CORS_ORIGINS?.trim() &&
      !request.headers.get(BOOKMARK_HEADER),

    async serve(request, env, ctx) {
      const started = Date.now();
      // As src/http/request-id.ts and private-responses.ts set them on every answer.
      const requestId = crypto.randomUUID();
      const headers: Record<string, string> = {
        "X-Request-Id": requestId,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
      };
      let response: Response;
      try {
        const guarded = await guard(request, env, requestId);
        const session = inLazySession(env, "first-unconstrained");
        const body = await readJsonBody(request, schema);
        const result = await answer(
          session.env,
          body as Parameters<DirectAnswer<O, G>>[1],
          (promise) => {
            if (!ctx) throw new Error("This context has no ExecutionContext");
            ctx.waitUntil(promise);
          },
          guarded,
        );
        headers["Content-Type"] = "application/json";
        // Only what the chain's check accepts is handed out (src/http/operation.ts, d1Session).
        const bookmark = session.bookmark();
        if (bookmark && isBookmark(bookmark)) headers[BOOKMARK_HEADER] = bookmark;
        response = new Response(JSON.stringify(result), { status, headers });
      } catch (error) {
        const failure = errorAnswer(error, { requestId, method, route });
        Object.assign(headers, failure.headers);
        headers["Content-Type"] = "application/json";
        response = new Response(JSON.stringify(failure.body), { status: failure.status, headers });
      }
      // src/http/log.ts's requestLog line.
      log.info("request", {
        requestId,
        method,
        route,
        status: response.status,
        durationMs: Date.now() - started,
      });
      return response;
    },
  };
}

/**
 * A request URL's path as Hono's router starts reading it (up to `?`). One with a `%` in it is
 * decoded by the router first, and never equals a direct route's path: the chain serves it.
 */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf(":") + 4);
  const end = url.indexOf("?", start);
  return end < 0 ? url.slice(start) : url.slice(start, end);
}
