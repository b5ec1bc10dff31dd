import { FlashgateError } from "./error.js";
import { OPERATIONS } from "./operations.js";
import type {
  AiType,
  CreateStorageKeyInput,
  OperationId,
  PathParams,
  QueryParams,
  RequestBody,
  SuccessBody,
  UpdateStorageKeyInput,
  WithAccessAlias,
} from "./types.js";

/** The one thing the client needs of `fetch`; Workers service bindings and Node's fetch both fit. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface FlashgateClientOptions {
  /** A JWT for the caller, sent as `Authorization: Bearer <accessToken>`. */
  accessToken: string;
  /**
   * Where the API lives, e.g. `https://api.example.com` (a path prefix is kept). Defaults to
   * the `FLASHGATE_BASE_URL` environment variable where there is one (Node); without either
   * the constructor throws.
   */
  baseUrl?: string;
  /** Defaults to the global `fetch`. */
  fetch?: FetchLike;
}

interface CallInput<Id extends OperationId> {
  path?: PathParams<Id>;
  query?: QueryParams<Id>;
  body?: RequestBody<Id>;
}

/** The API's database position header: answered on every call, sent back on the next. */
const BOOKMARK_HEADER = "X-D1-Bookmark";

/**
 * A typed client for the Flashgate API. Every method returns the API's JSON answer as is
 * (e.g. `{ success, keys }`) and throws a `FlashgateError` for any status outside 2xx.
 *
 * Each instance reads its own writes: it remembers the newest `X-D1-Bookmark` the API answered
 * and sends it with every later call, so a read after a write is at least that fresh even when
 * a database replica answers it.
 */
export class FlashgateClient {
  readonly #accessToken: string;
  readonly #baseUrl: string;
  readonly #fetch: FetchLike;
  #bookmark: string | undefined;

  constructor(options: FlashgateClientOptions) {
    if (!options.accessToken) throw new TypeError("FlashgateClient: accessToken is required");
    this.#baseUrl = resolveBaseUrl(options.baseUrl);
    this.#accessToken = options.accessToken;
    // Workers refuse a `fetch` called with another `this` ("Illegal invocation"): wrap, never store it bare.
    const fetch = options.fetch;
    this.#fetch = fetch
      ? (url, init) => fetch(url, init)
      : (url, init) => globalThis.fetch(url, init);
  }

  /** Storage repository API keys (S3-style key + secret). */
  readonly apiKeys = {
    /** All active keys, or one page with `{ limit, cursor }` (pass `nextCursor` back as `cursor`). */
    list: (repoId: string, page?: QueryParams<"listRepoKeys">) =>
      this.#call("listRepoKeys", { path: { repoId }, query: page }),
    /** Every key, a page at a time: `for await (const key of client.apiKeys.all(repoId))`. */
    all: (repoId: string, { pageSize = 100 }: { pageSize?: number } = {}) =>
      this.#each(async (cursor) => {
        const page = await this.apiKeys.list(repoId, { limit: pageSize, cursor });
        return { items: page.keys, nextCursor: page.nextCursor };
      }),
    /** A new secret for the same key; the previous one works for `gracePeriodSeconds` (default 0). */
    roll: async (repoId: string, apikeyId: string, input: RequestBody<"rollRepoKey"> = {}) =>
      this.#call("rollRepoKey", { path: { repoId, apikeyId }, body: input }),
    /**
     * Short-lived S3 credentials from this key, limited to a permission and, optionally, key
     * prefixes and objects (`{ permission, prefixes?, objects?, ttlSeconds?, name? }`): the
     * access key id, secret and session token, shown once. Nothing is stored.
     */
    temporaryCredentials: async (
      repoId: string,
      apikeyId: string,
      input: RequestBody<"createTemporaryCredentials">,
    ) => this.#call("createTemporaryCredentials", { path: { repoId, apikeyId }, body: input }),
    // async, so that a bad input rejects like every other failure rather than throwing.
    create: async (repoId: string, input: CreateStorageKeyInput) =>
      this.#call("createRepoKey", {
        path: { repoId },
        body: withAccessType<Omit<RequestBody<"createRepoKey">, "repoId">>(input),
      }),
    update: async (repoId: string, apikeyId: string, input: UpdateStorageKeyInput) =>
      this.#call("updateRepoKey", {
        path: { repoId, apikeyId },
        body: withAccessType<RequestBody<"updateRepoKey">>(input),
      }),
    delete: (repoId: string, apikeyId: string) =>
      this.#call("deleteRepoKey", { path: { repoId, apikeyId } }),
  };

  /** AI repository API keys (bearer keys for the AI gateway). */
  readonly aiApiKeys = {
    list: (repoId: string, page?: QueryParams<"getRepoAiApiKeys">) =>
      this.#call("getRepoAiApiKeys", { path: { repoId }, query: page }),
    all: (repoId: string, { pageSize = 100 }: { pageSize?: number } = {}) =>
      this.#each(async (cursor) => {
        const page = await this.aiApiKeys.list(repoId, { limit: pageSize, cursor });
        return { items: page.apiKeys, nextCursor: page.nextCursor };
      }),
    roll: async (repoId: string, apikeyId: string, input: RequestBody<"rollRepoAiApiKey"> = {}) =>
      this.#call("rollRepoAiApiKey", { path: { repoId, apikeyId }, body: input }),
    create: (repoId: string, input: RequestBody<"createRepoAiApiKey">) =>
      this.#call("createRepoAiApiKey", { path: { repoId }, body: input }),
    update: (repoId: string, apikeyId: string, input: RequestBody<"updateRepoAiApiKey">) =>
      this.#call("updateRepoAiApiKey", { path: { repoId, apikeyId }, body: input }),
    delete: (repoId: string, apikeyId: string) =>
      this.#call("deleteRepoAiApiKey", { path: { repoId, apikeyId } }),
  };

  /**
   * A repository's keys at AI providers (ADMIN sets and removes them; any member lists them).
   * Answers show a key's last 4 characters only; the key itself never comes back.
   */
  readonly aiProviders = {
    list: (repoId: string) => this.#call("getRepoAiProviders", { path: { repoId } }),
    set: (repoId: string, aiType: AiType, input: RequestBody<"setRepoAiProvider">) =>
      this.#call("setRepoAiProvider", { path: { repoId, aiType }, body: input }),
    /** Resolves with nothing (the API answers 204). */
    remove: async (repoId: string, aiType: AiType): Promise<void> => {
      await this.#call("deleteRepoAiProvider", { path: { repoId, aiType } });
    },
  };

  /** Workspaces the caller belongs to, and their members. */
  readonly workspaces = {
    create: (input: RequestBody<"createWorkspace">) =>
      this.#call("createWorkspace", { body: input }),
    list: () => this.#call("listWorkspaces", {}),
    members: {
      list: (workspaceId: string) => this.#call("listWorkspaceUsers", { path: { workspaceId } }),
      add: (workspaceId: string, input: RequestBody<"addWorkspaceUser">) =>
        this.#call("addWorkspaceUser", { path: { workspaceId }, body: input }),
      update: (workspaceId: string, userId: string, input: RequestBody<"updateWorkspaceUser">) =>
        this.#call("updateWorkspaceUser", { path: { workspaceId, userId }, body: input }),
      remove: (workspaceId: string, userId: string) =>
        this.#call("removeWorkspaceUser", { path: { workspaceId, userId } }),
    },
  };

  /** Repositories, each in one workspace. */
  readonly repos = {
    create: (input: RequestBody<"createRepo">) => this.#call("createRepo", { body: input }),
    list: (query: QueryParams<"listRepos"> = {}) => this.#call("listRepos", { query }),
    get: (repoId: string) => this.#call("getRepo", { path: { repoId } }),
  };

  /** Audit events, newest first, a page at a time: pass `nextCursor` back as `cursor`. */
  readonly audit = {
    repo: (repoId: string, query: QueryParams<"listRepoAudit"> = {}) =>
      this.#call("listRepoAudit", { path: { repoId }, query }),
    workspace: (workspaceId: string, query: QueryParams<"listWorkspaceAudit"> = {}) =>
      this.#call("listWorkspaceAudit", { path: { workspaceId }, query }),
  };

  /**
   * The verification plane, for gateways: needs a gateway token (scope `keys:verify`). Each
   * answers a decision, never a secret: `{ valid: true, keyId, repoId, … }` or
   * `{ valid: false, code, … }`.
   */
  readonly verify = {
    /** An S3 request's SigV4 signature (header-signed or presigned) against its storage key. */
    s3: (input: RequestBody<"verifyS3Request">) => this.#call("verifyS3Request", { body: input }),
    /** An AI bearer secret (`fbai_sk_…`). */
    ai: (input: RequestBody<"verifyAiSecret">) => this.#call("verifyAiSecret", { body: input }),
  };

  /** Walks pages until one has no next cursor, yielding every item in order. */
  async *#each<T>(
    fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>,
  ): AsyncGenerator<T, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await fetchPage(cursor);
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  async #call<Id extends OperationId>(id: Id, input: CallInput<Id>): Promise<SuccessBody<Id>> {
    const { method, path } = OPERATIONS[id];
    const params = (input.path ?? {}) as Record<string, string>;
    const filled = path.replace(/\{(\w+)\}/g, (_: string, name: string) =>
      encodeURIComponent(params[name] ?? ""),
    );
    const url = new URL(filled.slice(1), this.#baseUrl);
    for (const [name, value] of Object.entries(input.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }

    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.#accessToken}`,
      Accept: "application/json",
    };
    if (this.#bookmark) headers[BOOKMARK_HEADER] = this.#bookmark;
    // Only a request with a body says what the body is; GET and DELETE carry neither.
    let body: string | undefined;
    if (input.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(input.body);
    }

    const response = await this.#fetch(url.href, { method, headers, body });
    // Bookmarks sort oldest to newest; calls answered out of order never move it back.
    const bookmark = response.headers.get(BOOKMARK_HEADER);
    if (bookmark && (!this.#bookmark || bookmark > this.#bookmark)) this.#bookmark = bookmark;
    const text = await response.text();
    const isJson = response.headers.get("Content-Type")?.includes("application/json") ?? false;
    if (!response.ok) {
      const parsed = isJson ? parseJson(text) : text;
      const requestId = response.headers.get("X-Request-Id") ?? undefined;
      throw new FlashgateError(response.status, parsed, requestId, response.statusText);
    }
    return (text ? JSON.parse(text) : null) as SuccessBody<Id>;
  }
}

/** All the client reads of Node's `process`; Workers and browsers have none (no @types/node). */
type MaybeNodeGlobal = { process?: { env?: Record<string, string | undefined> } };

/**
 * Checks the base URL now, so a missing or malformed one fails at construction with a message
 * that says what to pass, not at the first call as "TypeError: Invalid URL".
 */
function resolveBaseUrl(given: string | undefined): string {
  const fromEnv = (globalThis as MaybeNodeGlobal).process?.env?.FLASHGATE_BASE_URL;
  const value = given || fromEnv;
  if (!value) {
    throw new TypeError(
      'FlashgateClient: baseUrl is required (e.g. new FlashgateClient({ accessToken, baseUrl: "https://flashgate.example.com" })), or set FLASHGATE_BASE_URL',
    );
  }
  const url = httpUrl(value);
  if (!url) {
    const name = given ? "baseUrl" : "baseUrl (from FLASHGATE_BASE_URL)";
    throw new TypeError(
      `FlashgateClient: ${name} must be an absolute http(s) URL such as "https://flashgate.example.com", got ${JSON.stringify(value)}`,
    );
  }
  // Resolving "repo/…" against a base ending in "/" keeps any path prefix the base has.
  return url.href.replace(/\/*$/, "/");
}

function httpUrl(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
  } catch {
    return undefined; // relative, or not a URL at all
  }
}

/** Sends `accessType` on the wire whichever spelling the caller used. */
function withAccessType<T extends { accessType?: unknown }>(input: WithAccessAlias<T>): T {
  const { access, ...rest } = input as Record<string, unknown>;
  if (access === undefined) return rest as T;
  if (rest.accessType !== undefined && rest.accessType !== access) {
    throw new TypeError("Give either access or accessType, not both with different values");
  }
  return { ...rest, accessType: access } as T;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
