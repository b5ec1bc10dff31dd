import { type BodyPlan, type CallerPlan, Huge, Ref, type RequestPlan } from "./arbitraries";
import { type DocumentedOperation, isCreate, itemParamOf } from "./documented-operations";

/** A request as it goes on the wire. */
export interface Sent {
  method: string;
  /** Path and query, percent-encoded. */
  target: string;
  headers: [string, string][];
  body?: Uint8Array;
  /** The JSON body's value with real ids filled in; undefined when no JSON value was sent. */
  json?: unknown;
  /** Each path parameter's segment as sent (percent-encoded). */
  segments: Record<string, string>;
}

/** The percent-encoding of a string's UTF-8, lone surrogates included (\ud800 → %ED%A0%80). */
export function percentEncode(value: string): string {
  let out = "";
  for (const character of value) {
    if (/^[A-Za-z0-9\-._~]$/.test(character)) {
      out += character;
      continue;
    }
    // UTF-8 by hand: encodeURIComponent throws on a lone surrogate, TextEncoder replaces it.
    const point = character.codePointAt(0) as number;
    const bytes =
      point < 0x80
        ? [point]
        : point < 0x800
          ? [0xc0 | (point >> 6), 0x80 | (point & 0x3f)]
          : point < 0x10000
            ? [0xe0 | (point >> 12), 0x80 | ((point >> 6) & 0x3f), 0x80 | (point & 0x3f)]
            : [
                0xf0 | (point >> 18),
                0x80 | ((point >> 12) & 0x3f),
                0x80 | ((point >> 6) & 0x3f),
                0x80 | (point & 0x3f),
              ];
    for (const byte of bytes) out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** `template` with each {param} replaced by its segment. */
export const fill = (template: string, segments: Record<string, string>) =>
  template.replace(/\{(\w+)\}/g, (_, name: string) => segments[name] ?? "");

/** How a value travels in a path or a query string. */
function asText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/**
 * The ids the test has made (workspaces, repos, keys, members) and how its callers sign in:
 * what turns a symbolic plan into a request that reaches the handlers.
 */
export class World {
  private readonly known = new Map<string, { collection: string; id: string }[]>();
  /** Shared by every world of a run, so no two requests send the same X-Request-Id. */
  private static sequence = 0;

  constructor(
    readonly operations: DocumentedOperation[],
    /** The Authorization header for a caller of an operation; undefined for none. */
    private readonly authorizationFor: (
      caller: CallerPlan,
      operation: DocumentedOperation,
    ) => Promise<string | undefined>,
  ) {}

  /** `id` is a `name` (apikeyId…) made in `collection` (the concrete path it was posted to). */
  remember(name: string, collection: string, id: string): void {
    const list = this.known.get(name) ?? [];
    list.push({ collection, id });
    this.known.set(name, list);
  }

  /** A real id for `ref`, preferring those made in `collection`; the fallback when none. */
  private idFor(ref: Ref, collection?: string): unknown {
    const all = this.known.get(ref.name) ?? [];
    // Ids in the path may be sent in upper case; the collection is the same one.
    const here = all.filter(
      (entry) => entry.collection.toLowerCase() === collection?.toLowerCase(),
    );
    const pool = here.length > 0 ? here : all;
    const entry = pool[ref.pick % Math.max(pool.length, 1)];
    if (!entry) return ref.fallback instanceof Huge ? ref.fallback.value : ref.fallback;
    return ref.upper ? entry.id.toUpperCase() : entry.id;
  }

  /**
   * `value` with every Ref and Huge made concrete; own `__proto__` keys stay own keys. `fresh`
   * names the field that is the identity of what a create makes (userId when adding a member):
   * a known one would only conflict, so it is mostly the schema's own value.
   */
  private concrete(
    value: unknown,
    pathValues: Record<string, unknown>,
    fresh?: string,
    key?: string,
  ): unknown {
    if (value instanceof Huge) return value.value;
    if (value instanceof Ref) {
      // A body field named like a path parameter (repoId) usually repeats the path's value.
      if (key !== undefined && key in pathValues) return pathValues[key];
      if (key !== undefined && key === fresh && value.pick % 4 !== 0) {
        return value.fallback instanceof Huge ? value.fallback.value : value.fallback;
      }
      return this.idFor(value);
    }
    if (Array.isArray(value)) return value.map((item) => this.concrete(item, pathValues));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, this.concrete(v, pathValues, fresh, k)]),
      );
    }
    return value;
  }

  /** The request `plan` stands for, with real ids, a token, and its body's bytes. */
  async materialize(plan: RequestPlan): Promise<Sent> {
    const segments: Record<string, string> = {};
    const pathValues: Record<string, unknown> = {};
    let prefix = "";
    for (const part of plan.operation.path.split("/").slice(1)) {
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      if (!name) {
        prefix += `/${part}`;
        continue;
      }
      const piece = plan.params[name] ?? { raw: "" };
      let segment: string;
      if ("raw" in piece) {
        segment = piece.raw;
      } else {
        const value =
          piece.encode instanceof Ref
            ? this.idFor(piece.encode, prefix)
            : this.concrete(piece.encode, {});
        pathValues[name] = value;
        segment = percentEncode(asText(value));
      }
      segments[name] = segment;
      prefix += `/${segment}`;
    }
    const query = plan.query
      .map(
        ([name, value]) =>
          `${percentEncode(name)}=${percentEncode(asText(this.concrete(value, {})))}`,
      )
      .join("&");
    const target = fill(plan.operation.path, segments) + (query ? `?${query}` : "");

    const headers: [string, string][] = [];
    const authorization = await this.authorizationFor(plan.caller, plan.operation);
    if (authorization !== undefined) headers.push(["Authorization", authorization]);
    for (const [name, value] of plan.headers) {
      // Unique: were a client's id ever taken as the request's own, the audit check could
      // still tell requests apart.
      headers.push([name, name === "X-Request-Id" ? `${value}-${++World.sequence}` : value]);
    }
    const { operation } = plan;
    const created = isCreate(operation, this.operations)
      ? itemParamOf(operation.path, this.operations)
      : undefined;
    const { body, json } = this.bodyOf(plan.body, pathValues, created);
    const contentType =
      plan.contentType === "default"
        ? body === undefined
          ? null
          : "application/json"
        : plan.contentType;
    if (contentType !== null) headers.push(["Content-Type", contentType]);
    return { method: plan.method, target, headers, body, json, segments };
  }

  private bodyOf(plan: BodyPlan, pathValues: Record<string, unknown>, fresh?: string) {
    switch (plan.kind) {
      case "none":
        return { body: undefined, json: undefined };
      case "json": {
        const json = this.concrete(plan.value, pathValues, fresh);
        // JSON.stringify writes a lone surrogate as the escape \ud800: the server parses it back.
        return { body: new TextEncoder().encode(JSON.stringify(json)), json };
      }
      case "text":
        return { body: new TextEncoder().encode(plan.text), json: undefined };
      case "bytes":
        return { body: Uint8Array.from(plan.bytes), json: undefined };
    }
  }

  /** After an accepted create: remember what it made, so later requests can use it. */
  rememberCreated(operation: DocumentedOperation, sent: Sent, answer: unknown): void {
    if (!isCreate(operation, this.operations)) return;
    const itemParam = itemParamOf(operation.path, this.operations);
    if (!itemParam) return;
    const id = createdId(answer, sent.json, itemParam);
    if (typeof id === "string") this.remember(itemParam, fill(operation.path, sent.segments), id);
  }
}

/** The id of what a create made: the answer's id, or the sent field naming it (userId). */
export function createdId(answer: unknown, sent: unknown, itemParam: string): unknown {
  const id = (answer as Record<string, unknown> | null)?.id;
  if (typeof id === "string") return id;
  return (sent as Record<string, unknown> | undefined)?.[itemParam];
}
