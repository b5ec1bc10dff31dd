import { beforeAll, describe, expect, it } from "vitest";
import committedDocument from "../client/openapi.json";
import { createApp, routes } from "../src/app";
import { ErrorBodySchema } from "../src/http/schemas";
import { call } from "./support/api";

// The third-party OpenAPI 3.1 validator reads its meta-schema from disk, which workerd cannot:
// it runs in Node, in `npm run openapi:check`, on client/openapi.json. The test below that
// compares the served document with that file is what makes the validation cover the Worker.

type Json = Record<string, any>;

let document: Json;
beforeAll(async () => {
  const response = await call("GET", "/openapi.json");
  expect(response.status).toBe(200);
  expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
  document = response.body;
});

const operations = routes.map((r) => r.operation);
const documented = (method: string, path: string): Json | undefined =>
  document.paths[path]?.[method.toLowerCase()];
const PUBLIC_PATHS = ["/health", "/openapi.json"];

/** Follows a local `$ref` (`#/components/...`) to what it names. */
function resolve(value: Json): Json {
  if (!value.$ref) return value;
  const target = (value.$ref as string)
    .replace(/^#\//, "")
    .split("/")
    .reduce((node: Json | undefined, key) => node?.[key], document);
  if (!target) throw new Error(`unresolved $ref ${value.$ref}`);
  return target;
}

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1.0 document, served without a token", () => {
    expect(document.openapi).toBe("3.1.0");
    expect(document.info.title).toMatch(/Flashgate/);
  });

  it("is exactly the document the client package is generated from", () => {
    // On failure: `npm run openapi:generate`, then commit client/.
    expect(document).toEqual(committedDocument);
  });

  it("declares the bearer scheme, and every API operation requires it", () => {
    expect(document.components.securitySchemes.bearerAuth).toEqual({
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
    });
    for (const op of operations) {
      expect(documented(op.method, op.path)?.security, op.operationId).toEqual([
        { bearerAuth: [] },
      ]);
    }
    for (const path of PUBLIC_PATHS) expect(documented("get", path)?.security, path).toEqual([]);
  });

  it("documents every route the app serves, and nothing it does not serve", () => {
    const served = new Set(
      createApp()
        .routes.filter((r) => r.method !== "ALL") // middleware, not endpoints
        .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    const inDocument = new Set(
      Object.entries(document.paths).flatMap(([path, methods]) =>
        Object.keys(methods as Json).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
    expect([...served].filter((route) => !inDocument.has(route))).toEqual([]);
    expect([...inDocument].filter((route) => !served.has(route))).toEqual([]);
  });

  it("answers AI key creation with 201, as Flashback's client expects", () => {
    const responses = document.paths["/repo/{repoId}/ai/apikey"].post.responses;
    expect(Object.keys(responses)).toContain("201");
    expect(Object.keys(responses)).not.toContain("200");
  });

  describe.each(operations.map((op) => [`${op.method.toUpperCase()} ${op.path}`, op] as const))(
    "%s",
    (_, op) => {
      const entry = () => documented(op.method, op.path) as Json;

      it("has its operationId, summary and tags", () => {
        expect(entry().operationId).toBe(op.operationId);
        expect(entry().summary).toBe(op.summary);
        expect(entry().tags).toEqual(op.tags);
      });

      it("lists exactly the path and query parameters the route validates", () => {
        const expected = [
          ...Object.keys(op.params?.shape ?? {}).map((name) => ({ name, in: "path" })),
          ...Object.keys(op.query?.shape ?? {}).map((name) => ({ name, in: "query" })),
        ];
        const parameters = entry().parameters as Json[];
        expect(parameters.map(({ name, in: where }) => ({ name, in: where }))).toEqual(expected);
        for (const parameter of parameters) {
          expect(parameter.schema, parameter.name).toBeTypeOf("object");
          if (parameter.in === "path") expect(parameter.required).toBe(true);
        }
      });

      it("has a JSON request body exactly when the route takes one", () => {
        const requestBody = entry().requestBody;
        if (!op.body) return expect(requestBody).toBeUndefined();
        expect(requestBody.required).toBe(op.bodyOptional !== true);
        expect(requestBody.content["application/json"].schema).toBeTypeOf("object");
      });

      it(`answers ${op.success.status} with a JSON schema on success, and no other 2xx`, () => {
        const responses = entry().responses as Json;
        const successes = Object.keys(responses).filter((status) => status.startsWith("2"));
        expect(successes).toEqual([String(op.success.status)]);
        const success = responses[op.success.status];
        expect(success.description).toBe(op.success.description);
        expect(success.content["application/json"].schema).toBeTypeOf("object");
      });

      it("documents its error statuses, each with the error envelope and a real example", () => {
        const responses = entry().responses as Json;
        const errors = Object.keys(responses).filter((status) => !status.startsWith("2"));
        // 429: repeated failed authentications from one address (AUTH_FAILURES).
        const expected = ["401", "429", "500", "503", ...(op.errors ?? []).map(String)];
        if (!op.everyUser) expected.push("403");
        if (op.params || op.query || op.body) expected.push("400");
        if (op.body) expected.push("413", "415");
        expect(errors.sort()).toEqual([...new Set(expected)].sort());
        for (const status of errors) {
          const response = resolve(responses[status]);
          const content = response.content["application/json"];
          expect(content.schema).toEqual({ $ref: "#/components/schemas/Error" });
          // The same schema the API's error envelope is described by accepts the example.
          expect(ErrorBodySchema.safeParse(content.example).success, status).toBe(true);
          expect(response.description.length).toBeGreaterThan(0);
        }
        expect(resolve(responses["429"]).headers["Retry-After"].schema).toEqual({
          type: "integer",
          minimum: 1,
        });
      });
    },
  );

  it("resolves every $ref", () => {
    const refs: Json[] = [];
    const collect = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(collect);
      else if (value && typeof value === "object") {
        if ("$ref" in value) refs.push(value as Json);
        else Object.values(value).forEach(collect);
      }
    };
    collect(document);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(() => resolve(ref), ref.$ref).not.toThrow();
  });

  it("gives the error envelope's required fields: success and message", () => {
    const error = document.components.schemas.Error;
    expect(error.required).toEqual(expect.arrayContaining(["success", "message"]));
    expect(error.properties.success).toEqual({ type: "boolean", const: false });
  });
});
