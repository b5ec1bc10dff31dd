import { Hono } from "hono";
import { aiKeyRoutes } from "./ai-keys/routes";
import { auditRoutes } from "./audit/routes";
import { authenticate, authenticateGateway } from "./auth/middleware";
import { temporaryCredentialRoutes } from "./credentials/routes";
import { requireKeyring } from "./crypto/require-keyring";
import type { AppEnv, Bindings } from "./env";
import { allowedMethods } from "./http/allowed-methods";
import { corsFromSettings } from "./http/cors";
import { pathOf } from "./http/direct";
import { requestLog } from "./http/log";
import { notFound, onError } from "./http/on-error";
import { mountOpenApi } from "./http/openapi";
import { mount, type Route } from "./http/operation";
import { privateResponses } from "./http/private-responses";
import { requestId } from "./http/request-id";
import { storageKeyRoutes } from "./keys/routes";
import { leakRoutes } from "./leaks/routes";
import { providerRoutes } from "./providers/routes";
import { repoRoutes } from "./repos/routes";
import { directVerifyRoutes, verifyRoutes } from "./verify/routes";
import { workspaceRoutes } from "./workspaces/routes";

/** Every API operation; each is mounted once and documented from the same definition. */
export const routes: Route[] = [
  ...workspaceRoutes,
  ...repoRoutes,
  ...storageKeyRoutes,
  ...temporaryCredentialRoutes,
  ...aiKeyRoutes,
  ...providerRoutes,
  ...auditRoutes,
  ...leakRoutes,
  ...verifyRoutes,
] as Route[];

/** `direct: false` serves every request through the chain (tests compare the two). */
export function createApp({ direct = true }: { direct?: boolean } = {}) {
  const app = new Hono<AppEnv>();

  // Every answer, a preflight's too, has the service's request id and one log line.
  app.use(requestId, requestLog);
  // A browser's preflight is answered before anything asks it for a token or a body.
  app.use(corsFromSettings);
  app.use(privateResponses);
  // A wrong method on a known path is 405 before a token is asked for. Bodies are read (size,
  // media type, JSON) only by the operations that take one (src/http/json-body.ts).
  app.use(allowedMethods(app));

  // Public: health and the OpenAPI document. The /docs and /console pages are static assets
  // (wrangler.toml [assets]), answered before the Worker runs.
  app.get("/health", (c) => c.json({ status: "ok" }));
  mountOpenApi(
    app,
    routes.map((r) => r.operation),
  );

  // Everything else needs a verified bearer token. Unknown paths stay 404 without one.
  for (const path of ["/workspace", "/workspace/*", "/repo", "/repo/*", "/leaks"]) {
    app.use(path, requireKeyring, authenticate);
  }
  // The verification plane: gateway tokens only (scope keys:verify).
  app.use("/verify/*", requireKeyring, authenticateGateway);

  // GitHub's secret scanning reports are signed by GitHub, not a bearer token (src/leaks).
  app.use("/secret-scanning/*", requireKeyring);
  for (const r of routes) mount(app, r);

  app.notFound(notFound);
  app.onError(onError);

  // A gateway's verifications skip the chain above (src/http/direct.ts): the same checks and
  // answers, without what does not apply to them. Anything else they might be asked with (a
  // preflight, another method, CORS on, a bookmark) still goes through it.
  const chain = app.fetch;
  app.fetch = (request, env, ctx) => {
    if (direct && request.method === "POST" && env) {
      const bindings = env as Bindings;
      const path = pathOf(request.url);
      for (const direct of directVerifyRoutes) {
        if (direct.takes(request, path, bindings)) {
          return direct.serve(request, bindings, ctx as ExecutionContext | undefined);
        }
      }
    }
    return chain(request, env, ctx);
  };
  return app;
}
