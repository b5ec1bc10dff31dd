import { getExampleFromSchema, getServers } from "@scalar/workspace-store/request-example";
import { beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import committedDocument from "../client/openapi.json";
import { AI_SECRET_EXAMPLE } from "../src/ai-keys/schemas";
import { createApp, routes } from "../src/app";
import { isWellFormedAiSecret } from "../src/crypto/credentials";
import type { Operation } from "../src/http/operation";
import { ErrorBodySchema } from "../src/http/schemas";
import { call, newUser } from "./support/api";
import { gatewayToken } from "./verify/support";

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
      const scheme = op.authentication ?? "bearerAuth";
      expect(documented(op.method, op.path)?.security, op.operationId).toEqual([{ [scheme]: [] }]);
    }
    // GitHub's reports carry its signature, not a token.
    expect(documented("post", "/secret-scanning/github")?.security).toEqual([
      { githubSignature: [] },
    ]);
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

      it(`answers ${op.success.status} with a JSON schema on success (none for 204), and no other 2xx`, () => {
        const responses = entry().responses as Json;
        const successes = Object.keys(responses).filter((status) => status.startsWith("2"));
        expect(successes).toEqual([String(op.success.status)]);
        const success = responses[op.success.status];
        expect(success.description).toBe(op.success.description);
        if (op.success.status === 204) return expect(success.content).toBeUndefined();
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

describe("the document as the /docs page (Scalar) shows it", () => {
  it("names the origin serving it as the server, so curl examples carry the full URL", () => {
    expect(document.servers).toEqual([{ url: "/", description: expect.any(String) }]);
    // Scalar resolves a relative server against where the document came from.
    const [server] = getServers(structuredClone(document.servers), {
      documentUrl: "https://api.example.com/openapi.json",
    });
    expect(server?.url.replace(/\/$/, "")).toBe("https://api.example.com");
  });

  it("describes every tag", () => {
    const tags = document.tags as { name: string; description?: string }[];
    const used = new Set(operations.flatMap((op) => op.tags));
    for (const name of used) expect(tags.map((tag) => tag.name)).toContain(name);
    for (const tag of tags) expect(tag.description?.length ?? 0, tag.name).toBeGreaterThan(20);
  });

  it("names a workspace, a repo, a storage key and an AI key each its own way", () => {
    const nameIn = (method: string, path: string) =>
      (requestExample(method, path).body as Json).name;
    const names = [
      nameIn("post", "/workspace"),
      nameIn("post", "/repo"),
      nameIn("post", "/repo/{repoId}/apikey"),
      nameIn("post", "/repo/{repoId}/ai/apikey"),
    ];
    expect(new Set(names).size, names.join(", ")).toBe(4);
  });

  it("shows an AI secret example a secret scanner does not take for a real secret", () => {
    expect(AI_SECRET_EXAMPLE.startsWith("fbai_sk_")).toBe(true);
    expect(isWellFormedAiSecret(AI_SECRET_EXAMPLE)).toBe(false);
  });

  describe.each(operations.map((op) => [`${op.method.toUpperCase()} ${op.path}`, op] as const))(
    "%s",
    (_, op) => {
      it("shows a request example its own schemas accept: path, query and body", () => {
        const example = requestExample(op.method, op.path);
        if (op.params) expect(parsed(op.params, example.params)).toEqual([]);
        for (const [name, value] of Object.entries(example.query)) {
          const field = op.query?.shape[name] as z.ZodType;
          expect(parsed(field, String(value)), `?${name}=${value}`).toEqual([]);
        }
        if (op.body) {
          expect(example.body, "a body example").toBeTypeOf("object");
          expect(parsed(op.body, example.body), JSON.stringify(example.body)).toEqual([]);
        }
      });

      it("shows a response example (each branch of a union) its success schema accepts", () => {
        // A 204 has no body to show.
        if (op.success.status === 204) return;
        const examples = responseExamples(op.method, op.path);
        expect(examples.length).toBeGreaterThan(0);
        for (const example of examples) {
          expect(parsed(op.success.schema, example), JSON.stringify(example)).toEqual([]);
        }
      });

      it("is not refused as invalid when its request example is sent as shown", async () => {
        const { params, body } = requestExample(op.method, op.path);
        const path = op.path.replace(/\{(\w+)\}/g, (_, name) =>
          encodeURIComponent(String(params[name])),
        );
        const gateway = op.path.startsWith("/verify/");
        const response = await call(op.method.toUpperCase(), path, {
          ...(gateway
            ? { authorization: `Bearer ${await gatewayToken("docs-gateway")}` }
            : { as: newUser("docs-reader") }),
          ...(op.body ? { body } : {}),
        });
        // Another answer (403 for the example's workspace, 404, 201, …) comes after validation.
        expect(response.status, response.text).not.toBe(400);
      });
    },
  );

  it("gives every example a schema carries a value that schema accepts", () => {
    let checked = 0;
    for (const { schema, example, where } of schemaExamples(operations)) {
      expect(parsed(schema, example), `${where}: ${JSON.stringify(example)}`).toEqual([]);
      checked += 1;
    }
    // Names, ids, keys, secrets, timestamps, the verification fields: dozens, not a handful.
    expect(checked).toBeGreaterThan(30);
  });
});

// What Scalar 1.76 does with the document (@scalar/workspace-store's getExampleFromSchema, with the
// options its code examples and example responses pass), so the tests see the examples the page shows.

/** The document with each `$ref` also carrying its target, as Scalar's store hands schemas over. */
function linked(value: unknown, root: Json): void {
  if (Array.isArray(value)) for (const item of value) linked(item, root);
  else if (value && typeof value === "object") {
    const node = value as Json;
    if (typeof node.$ref === "string") node["$ref-value"] = resolveIn(root, node.$ref);
    else for (const child of Object.values(node)) linked(child, root);
  }
}

function resolveIn(root: Json, ref: string): Json {
  return ref
    .replace(/^#\//, "")
    .split("/")
    .reduce((node: Json, key) => node[key], root);
}

let scalarDocument: Json | undefined;
/** An operation's entry in a copy of the document that Scalar can walk. */
function forScalar(method: string, path: string): Json {
  if (!scalarDocument) {
    scalarDocument = structuredClone(document);
    linked(scalarDocument, scalarDocument);
  }
  return scalarDocument.paths[path][method.toLowerCase()];
}

type Schema = Parameters<typeof getExampleFromSchema>[0];

/** The request a code example sends: path and query parameters, and the JSON body. */
function requestExample(method: string, path: string) {
  const operation = forScalar(method, path);
  const params: Record<string, unknown> = {};
  const query: Record<string, unknown> = {};
  for (const parameter of operation.parameters as Json[]) {
    // A path parameter with no example would be shown as {name}.
    const options = parameter.in === "path" ? { emptyString: `{${parameter.name}}` } : {};
    const value = getExampleFromSchema(parameter.schema as Schema, options);
    if (parameter.in === "path") params[parameter.name] = value;
    else if (value !== undefined && value !== "") query[parameter.name] = value;
  }
  const schema = operation.requestBody?.content["application/json"].schema;
  const body = schema
    ? getExampleFromSchema(schema as Schema, { mode: "write" }, { schemaPath: ["requestBody"] })
    : undefined;
  return { params, query, body };
}

/** The example response: one for each branch when the success schema is a union. */
function responseExamples(method: string, path: string): unknown[] {
  const operation = forScalar(method, path);
  const status = Object.keys(operation.responses).find((s) => s.startsWith("2")) as string;
  const schema = operation.responses[status].content["application/json"].schema as Json;
  const resolved = schema.$ref ? (schema["$ref-value"] as Json) : schema;
  const branches = (resolved.anyOf ?? resolved.oneOf ?? [undefined]).length as number;
  const keyword = resolved.anyOf ? "anyOf" : "oneOf";
  return Array.from({ length: branches }, (_, branch) =>
    getExampleFromSchema(schema as Schema, {
      emptyString: "string",
      mode: "read",
      compositionSelection: { [keyword]: branch },
    }),
  );
}

/** The issues zod finds with `value`, as "path: message" lines; none when it is accepted. */
function parsed(schema: z.ZodType, value: unknown): string[] {
  const result = schema.safeParse(value);
  return result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
}

/** A schema's own `.meta({ examples })`, as JSON Schema's `examples`: a list. */
function examplesOf(schema: z.ZodType): unknown[] {
  const examples = z.globalRegistry.get(schema)?.examples;
  return Array.isArray(examples) ? examples : [];
}

/**
 * Every `examples` entry on a zod schema reachable from the operations, with that schema. A query
 * parameter's example is what it means (limit: 50); the request carries it as text ("50").
 */
function* schemaExamples(ops: Operation[]) {
  for (const op of ops) {
    for (const [name, field] of Object.entries(op.query?.shape ?? {})) {
      for (const example of examplesOf(field as z.ZodType)) {
        yield {
          schema: field as z.ZodType,
          example: String(example),
          where: `${op.operationId}?${name}`,
        };
      }
    }
  }
  const seen = new Set<z.ZodType>();
  const pending: { schema: z.ZodType; where: string }[] = ops.flatMap((op) =>
    [op.params, op.body, op.success.schema]
      .filter((schema): schema is z.ZodType => schema !== undefined)
      .map((schema) => ({ schema, where: op.operationId })),
  );
  while (pending.length > 0) {
    const { schema, where } = pending.pop() as { schema: z.ZodType; where: string };
    if (seen.has(schema)) continue;
    seen.add(schema);
    for (const example of examplesOf(schema)) {
      yield { schema, example, where };
    }
    // The schemas inside this one: an object's fields, what an optional, nullable, array, union,
    // record or pipe wraps.
    const def = schema._zod.def as unknown as Record<string, unknown>;
    const inner = [
      ...Object.entries((def.shape as Record<string, z.ZodType>) ?? {}).map(
        ([name, field]) => [field, `${where}.${name}`] as const,
      ),
      ...[def.innerType, def.element, def.in, def.out, def.keyType, def.valueType]
        .concat((def.options as unknown[]) ?? [])
        .map((child) => [child, where] as const),
    ];
    for (const [child, childWhere] of inner) {
      if (child instanceof z.ZodType) pending.push({ schema: child, where: childWhere });
    }
  }
}
