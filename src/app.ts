import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { aiKeyRoutes } from "./ai-keys/routes";
import { auditRoutes } from "./audit/routes";
import { authenticate } from "./auth/middleware";
import { requireKeyring } from "./crypto/require-keyring";
import type { AppEnv } from "./env";
import { corsFromSettings } from "./http/cors";
import { mountDocs } from "./http/docs";
import { ApiError } from "./http/error";
import { MAX_BODY_BYTES, privateResponses, requireJsonBody } from "./http/middleware";
import { notFound, onError } from "./http/on-error";
import { mount, type Route } from "./http/operation";
import { storageKeyRoutes } from "./keys/routes";
import { repoRoutes } from "./repos/routes";
import { workspaceRoutes } from "./workspaces/routes";

/** Every API operation; each is mounted once and documented from the same definition. */
export const routes: Route[] = [
  ...workspaceRoutes,
  ...repoRoutes,
  ...storageKeyRoutes,
  ...aiKeyRoutes,
  ...auditRoutes,
] as Route[];

export function createApp() {
  const app = new Hono<AppEnv>();

  // First: a browser's preflight is answered before anything asks it for a token or a body.
  app.use(corsFromSettings);
  app.use(requestId({ headerName: "X-Request-Id" }));
  app.use(privateResponses);
  // Oversized bodies are refused from Content-Length or while streaming, before any parsing.
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(
          "PAYLOAD_TOO_LARGE",
          `Request body must be at most ${MAX_BODY_BYTES / 1024} KiB`,
        );
      },
    }),
  );
  app.use(requireJsonBody);

  // Public: health, the OpenAPI document and the docs page.
  app.get("/health", (c) => c.json({ status: "ok" }));
  mountDocs(
    app,
    routes.map((r) => r.operation),
  );

  // Everything else needs a verified bearer token. Unknown paths stay 404 without one.
  for (const path of ["/workspace", "/workspace/*", "/repo", "/repo/*"]) {
    app.use(path, requireKeyring, authenticate);
  }

  for (const r of routes) mount(app, r);

  app.notFound(notFound);
  app.onError(onError);
  return app;
}
