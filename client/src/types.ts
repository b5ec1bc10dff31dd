// The client's types, all read from api-types.ts (generated from the Worker's own document):
// a schema change on the server shows up here as a type change, never as silent drift.
import type { components, operations } from "./api-types.js";
import type { OPERATIONS } from "./operations.js";

/** The API calls (every documented operation but the public service routes). */
export type OperationId = Extract<keyof typeof OPERATIONS, keyof operations>;
type Operation<Id extends OperationId> = operations[Id];
type Json<T> = T extends { content: { "application/json": infer Body } } ? Body : never;

/** The JSON an operation answers with on success (its one 200 or 201 response). */
export type SuccessBody<Id extends OperationId> = Operation<Id>["responses"] extends infer R
  ? R extends { 200: infer Ok }
    ? Json<Ok>
    : R extends { 201: infer Created }
      ? Json<Created>
      : never
  : never;

/** The JSON body an operation takes. */
export type RequestBody<Id extends OperationId> =
  Operation<Id> extends {
    requestBody?: infer Body;
  }
    ? Json<NonNullable<Body>>
    : never;

/** An operation's path parameters, e.g. `{ repoId: string }`. */
export type PathParams<Id extends OperationId> = Operation<Id>["parameters"] extends {
  path: infer Path;
}
  ? Path
  : never;

/** An operation's query parameters, e.g. `{ limit?: number; cursor?: string }`. */
export type QueryParams<Id extends OperationId> = NonNullable<Operation<Id>["parameters"]["query"]>;

type Schemas = components["schemas"];

/** The body of every failure: `{ success: false, message, code, requestId, issues? }`. */
export type ErrorBody = Schemas["Error"];

export type AccessType = Schemas["AccessType"];
export type AiType = Schemas["AiType"];
export type Role = RequestBody<"addWorkspaceUser">["role"];

export type StorageKey = Schemas["StorageKey"];
export type StorageKeyList = Schemas["StorageKeyList"];
export type CreatedStorageKey = Schemas["CreatedStorageKey"];
export type AiKey = Schemas["AiKey"];
export type AiKeyList = Schemas["AiKeyList"];
export type CreatedAiKey = Schemas["CreatedAiKey"];
export type RolledKey = Schemas["RolledKey"];
/** A repository's key at an AI provider, as answers show it: never the key, its last 4 characters. */
export type AiProvider = Schemas["AiProvider"];
export type KeyState = Schemas["KeyState"];
export type MessageResponse = Schemas["MessageResponse"];
export type Repo = Schemas["Repo"];
export type AuditEvent = Schemas["AuditEvent"];
export type AuditPage = Schemas["AuditPage"];

/**
 * `accessType` as the API spells it, or `access` as Flashback's quick links do
 * (`{ name: 'CI Bot', access: 'READ' }`); one of the two, never both.
 */
export type WithAccessAlias<T extends { accessType?: unknown }> =
  | (T & { access?: never })
  | (Omit<T, "accessType"> & { access: T["accessType"]; accessType?: never });

/** What `apiKeys.create` takes. The path carries the repo, so the body's `repoId` is left out. */
export type CreateStorageKeyInput = WithAccessAlias<Omit<RequestBody<"createRepoKey">, "repoId">>;
/** What `apiKeys.update` takes: any of name, accessType (or access), status, expiresAt. */
export type UpdateStorageKeyInput = WithAccessAlias<RequestBody<"updateRepoKey">>;
