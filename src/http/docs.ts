import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";

const INFO = {
  title: "Flashgate API: repository API keys",
  version: "1.0.0",
  description:
    "Storage keys (S3-style access key + secret) and AI keys for Flashback-style repositories. " +
    "Authenticate with `Authorization: Bearer <JWT>`. Secrets are returned once, at creation.",
};

/** The OpenAPI 3.1 document, generated from the routes' own zod schemas. */
export function openApiDocument(app: OpenAPIHono<AppEnv>, serverUrl?: string) {
  return app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: INFO,
    servers: serverUrl ? [{ url: serverUrl }] : [],
  });
}

/** Mounts GET /openapi.json and GET /docs (an interactive reference page, no account needed). */
export function mountDocs(app: OpenAPIHono<AppEnv>) {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  let cached: ReturnType<typeof openApiDocument> | undefined;
  app.get("/openapi.json", (c) => {
    cached ??= openApiDocument(app, new URL(c.req.url).origin);
    return c.json(cached);
  });
  app.get("/docs", (c) =>
    c.html(`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${INFO.title}</title>
  </head>
  <body>
    <script id="api-reference" data-url="/openapi.json"></script>
    <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference@1"></script>
  </body>
</html>`),
  );
}
