import type { Hono, MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "./error";

interface RoutedPath {
  pattern: RegExp;
  /** The `Allow` header's value: the path's methods, HEAD with GET, and OPTIONS. */
  allow: string;
  methods: Set<string>;
}

/** Every path the app routes, read off its router, with the methods each answers. */
function routedPaths(app: Hono<AppEnv>): RoutedPath[] {
  const byPath = new Map<string, Set<string>>();
  for (const { method, path } of app.routes) {
    if (method === "ALL") continue; // middleware
    const methods = byPath.get(path) ?? new Set<string>();
    methods.add(method);
    if (method === "GET") methods.add("HEAD");
    byPath.set(path, methods);
  }
  return [...byPath].map(([path, methods]) => {
    methods.add("OPTIONS");
    const source = path
      .split("/")
      .map((part) => (part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("/");
    return { pattern: new RegExp(`^${source}$`), allow: [...methods].join(", "), methods };
  });
}

/**
 * A known path asked with a method it does not have answers 405 with `Allow`, before anything
 * asks for a token or reads a body; OPTIONS answers 204 with `Allow`. Unknown paths pass on (404).
 */
export function allowedMethods(app: Hono<AppEnv>): MiddlewareHandler<AppEnv> {
  // Read on first use, when every route is registered.
  let paths: RoutedPath[] | undefined;
  return async (c, next) => {
    // The router has already matched this method: a route of its own (not middleware) means
    // the method is allowed, with no path scanned.
    if (c.req.method !== "OPTIONS" && c.req.matchedRoutes.some((r) => r.method !== "ALL")) {
      return next();
    }
    paths ??= routedPaths(app);
    const path = c.req.path;
    const routed = paths.find(({ pattern }) => pattern.test(path));
    const method = c.req.method;
    if (!routed || (routed.methods.has(method) && method !== "OPTIONS")) return next();
    if (method === "OPTIONS") return c.body(null, 204, { Allow: routed.allow });
    throw new ApiError(
      "METHOD_NOT_ALLOWED",
      `${path} does not support ${method}; it supports ${routed.allow}`,
      undefined,
      { Allow: routed.allow },
    );
  };
}
