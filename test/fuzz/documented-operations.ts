// What the fuzzer knows about the API: only what GET /openapi.json says. Shared by the
// in-process suite (workerd) and the end-to-end one (Node), so it imports nothing runtime-bound.

export type JsonSchema = Record<string, any>;

export interface Parameter {
  name: string;
  required: boolean;
  schema: JsonSchema;
}

/** One operation of the document, every `$ref` in its schemas replaced by what it names. */
export interface DocumentedOperation {
  /** "POST /repo/{repoId}/apikey" */
  id: string;
  /** Upper case. */
  method: string;
  /** The document's template: /repo/{repoId}/apikey */
  path: string;
  /** Needs a bearer token (security is not empty). */
  secured: boolean;
  params: Parameter[];
  query: Parameter[];
  body?: { required: boolean; schema: JsonSchema };
  /** Media types of each documented 2xx answer, by status ("200": ["application/json"]). */
  successes: Record<string, string[]>;
}

type Document = Record<string, any>;

/** Follows `$ref`s (local ones, into the document) all the way down. */
function dereferenced(schema: unknown, document: Document, refs: string[] = []): any {
  if (Array.isArray(schema)) return schema.map((item) => dereferenced(item, document, refs));
  if (schema === null || typeof schema !== "object") return schema;
  const { $ref, ...rest } = schema as Record<string, unknown>;
  let target: unknown = {};
  if (typeof $ref === "string") {
    if (refs.includes($ref)) throw new Error(`recursive schema at ${$ref}: not supported`);
    target = dereferenced(
      $ref
        .replace(/^#\//, "")
        .split("/")
        .reduce((node: any, key) => node?.[key], document),
      document,
      [...refs, $ref],
    );
    if (target === undefined) throw new Error(`unresolved $ref ${$ref}`);
  }
  // Sibling keywords (a description beside the $ref) win over the referenced schema's own.
  return {
    ...(target as object),
    ...Object.fromEntries(
      Object.entries(rest).map(([key, value]) => [key, dereferenced(value, document, refs)]),
    ),
  };
}

/** Every operation the document lists, in its order. */
export function documentedOperations(document: Document): DocumentedOperation[] {
  const operations: DocumentedOperation[] = [];
  for (const [path, methods] of Object.entries(document.paths as Record<string, Document>)) {
    for (const [method, operation] of Object.entries(methods)) {
      const parameters = (operation.parameters ?? []).map((p: Document) =>
        dereferenced(p, document),
      );
      const parametersIn = (where: string): Parameter[] =>
        parameters
          .filter((p: Document) => p.in === where)
          .map((p: Document) => ({
            name: p.name,
            required: p.required === true,
            schema: p.schema,
          }));
      const requestBody = operation.requestBody && dereferenced(operation.requestBody, document);
      const successes: Record<string, string[]> = {};
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (!/^2\d\d$/.test(status)) continue;
        successes[status] = Object.keys(dereferenced(response, document).content ?? {});
      }
      operations.push({
        id: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        secured: (operation.security ?? document.security ?? []).length > 0,
        params: parametersIn("path"),
        query: parametersIn("query"),
        ...(requestBody
          ? {
              body: {
                required: requestBody.required === true,
                schema: requestBody.content?.["application/json"]?.schema ?? {},
              },
            }
          : {}),
        successes,
      });
    }
  }
  return operations;
}

/** The path params of `template`, in order: /repo/{repoId}/apikey/{apikeyId} → repoId, apikeyId. */
export const paramsOf = (template: string) =>
  [...template.matchAll(/\{(\w+)\}/g)].map((match) => match[1] as string);

/** Accepted POSTs that store nothing to read back: temporary credentials are stateless. */
const STORES_NOTHING = new Set(["POST /repo/{repoId}/apikey/{apikeyId}/temporary-credentials"]);

/**
 * Where an accepted create or update can be read back: the nearest path at or above the
 * operation's own that the document lists a GET for (POST /repo/{repoId}/apikey → itself;
 * PUT /repo/{repoId}/apikey/{apikeyId} and its /roll → /repo/{repoId}/apikey). Undefined when
 * there is none (POST /verify/s3).
 */
export function readBackOf(
  operation: DocumentedOperation,
  operations: DocumentedOperation[],
): string | undefined {
  if (STORES_NOTHING.has(operation.id)) return undefined;
  const listed = new Set(operations.filter((o) => o.method === "GET").map((o) => o.path));
  const segments = operation.path.split("/");
  for (let length = segments.length; length > 1; length -= 1) {
    const candidate = segments.slice(0, length).join("/");
    if (listed.has(candidate)) return candidate;
  }
  return undefined;
}

/** Whether `operation` creates an item in the collection it posts to (POST /repo, not /roll). */
export const isCreate = (operation: DocumentedOperation, operations: DocumentedOperation[]) =>
  operation.method === "POST" && readBackOf(operation, operations) === operation.path;

/** The parameter naming one item of a collection: /repo/{repoId}/apikey → apikeyId. */
export function itemParamOf(
  collection: string,
  operations: DocumentedOperation[],
): string | undefined {
  const item = operations.find((o) => o.path.startsWith(`${collection}/{`));
  return item ? paramsOf(item.path.slice(collection.length))[0] : undefined;
}

/** `schema` or, for `anyOf` (nullable), its branches, flattened. */
export function branchesOf(schema: JsonSchema): JsonSchema[] {
  const branches = schema.anyOf ?? schema.oneOf;
  return Array.isArray(branches) ? branches.flatMap(branchesOf) : [schema];
}
