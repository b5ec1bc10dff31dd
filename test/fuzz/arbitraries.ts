import fc from "fast-check";
import type { DocumentedOperation, JsonSchema, Parameter } from "./documented-operations";

// Requests for an operation, generated from its documented schemas: mostly values the schema
// allows (and real ids, so requests get past validation to the handler), mixed with hostile
// ones. A plan is symbolic (a real id is "the 2nd repoId the test knows"), so a counterexample
// reads well and replays against whatever ids the world holds then; world.ts makes it concrete.

/** A real id of `name` (workspaceId, repoId, apikeyId, userId) the test knows, or `fallback`. */
export class Ref {
  constructor(
    readonly name: string,
    readonly pick: number,
    readonly fallback: unknown,
    /** Sent in upper case: ids are UUIDs, which the API folds to lower case. */
    readonly upper = false,
  ) {}
  [fc.toStringMethod]() {
    const fallback = this.fallback instanceof Huge ? this.fallback : fc.stringify(this.fallback);
    return `${this.upper ? "UPPER " : ""}<${this.name} #${this.pick}, else ${fallback}>`;
  }
}

/** A string too long for anything, written small in counterexamples. */
export class Huge {
  constructor(
    readonly unit: string,
    readonly count: number,
  ) {}
  get value() {
    return this.unit.repeat(this.count);
  }
  [fc.toStringMethod]() {
    return `${fc.stringify(this.unit)}×${this.count}`;
  }
}

/** Text the API must refuse or store exactly as sent, never choke on. */
const HOSTILE_STRINGS = [
  // Lone surrogates: not text at all; JSON carries them escaped, paths as %ED%A0%80.
  "\ud800",
  "a\udc00b",
  "\udfff\ud800",
  // SQL, markup and template injection.
  "' OR 1=1 --",
  '"; DROP TABLE repos; --',
  "%' OR '1'='1",
  "<script>alert(1)</script>",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: template injection, meant literally
  "${7*7}",
  "../../etc/passwd",
  // Zero-width and bidirectional controls (format characters).
  "\u200b",
  "ad\u200dmin",
  "\u202egnp.exe",
  "\u2066x\u2069",
  "\u202a\u202c",
  "\ufeff",
  "\u061c",
  "\u200e",
  // Edges, blanks and controls.
  "  padded  ",
  "\u00a0nbsp\u00a0",
  "   ",
  "",
  "\u0000",
  "a\u0000b",
  "\u0085",
  "\t",
  "line\nbreak",
  // Prototype keys as values.
  "__proto__",
  "constructor",
  "prototype",
  // Lengths at and over the limits, in code points and in UTF-16 units.
  "x".repeat(129),
  "x".repeat(256),
  "é".repeat(128),
  "😀".repeat(128),
  "😀".repeat(129),
  // Look-alikes of valid values.
  "read",
  "ADMIN ",
  "ＡＤＭＩＮ",
  "0x10",
  "1e1",
  " 5",
  "-1",
  "null",
  "true",
];

/** Values of the wrong JSON type for whatever field they land in. */
const WRONG_TYPES: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  2 ** 53 + 1,
  1e308,
  [],
  ["x"],
  {},
  { $ne: null },
  JSON.parse('{"__proto__": {"admin": true}}'),
];

const hugeString = fc.constantFrom(
  new Huge("x", 70_000),
  new Huge("\ud800", 12_000),
  new Huge("é", 40_000),
  new Huge("x", 20_000),
);

const hostileString: fc.Arbitrary<string | Huge> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: hugeString },
);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.constantFrom(...WRONG_TYPES) },
);

const PROTOTYPE_KEYS = ["__proto__", "constructor", "prototype"];

/** `object` with one more own key, as JSON.parse would make it (`__proto__` included). */
function withKey(object: Record<string, unknown>, key: string, value: unknown) {
  const copy = { ...object };
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/**
 * An ISO 8601 date-time in Z, an offset or with milliseconds: mostly from 2 hours to 10 years
 * ahead (an expiry the API takes), sometimes in the past month or just over 10 years ahead.
 */
const dateTime = fc
  .tuple(
    fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 2, max: 10 * 365 * 24 }) },
      { weight: 1, arbitrary: fc.integer({ min: -30 * 24, max: -2 }) },
      { weight: 1, arbitrary: fc.integer({ min: 10 * 366 * 24 + 48, max: 11 * 366 * 24 }) },
    ),
    fc.integer({ min: 0, max: 3599 }),
    fc.constantFrom("Z", "+02:00", "-05:30", "ms"),
  )
  .map(([hours, seconds, zone]) => {
    const at = new Date(Date.now() + hours * 3_600_000 + seconds * 1000);
    if (zone === "ms") return at.toISOString();
    if (zone === "Z") return `${at.toISOString().slice(0, 19)}Z`;
    // The same instant, written as the local time of that offset.
    const sign = zone.startsWith("-") ? -1 : 1;
    const [h, m] = zone.slice(1).split(":").map(Number) as [number, number];
    const local = new Date(at.getTime() + sign * (h * 60 + m) * 60_000);
    return `${local.toISOString().slice(0, 19)}${zone}`;
  });

const uuid = fc.oneof(
  { weight: 4, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.constant("00000000-0000-0000-0000-000000000000") },
);

/** Pieces of text that are easy to mishandle: invisible, reordering, unpaired, decomposed. */
const TRICKY_PIECES = [
  "\ud800",
  "\udc00",
  "\u200b",
  "\u200d",
  "\u202e",
  "\u2066",
  "\u2069",
  "\u061c",
  "\ufeff",
  " ",
  "\u00a0",
  "\u3000",
  "e\u0301",
  "\u00e9",
  "\u{1F469}\u200d\u{1F4BB}",
  "\ufb01",
  "\u0130",
  "'",
  '"',
  "--",
  "%",
  "\\",
];

/** Free text of a plausible length mixing plain characters with the tricky pieces. */
const trickyText = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 4 }) },
      { weight: 2, arbitrary: fc.constantFrom(...TRICKY_PIECES) },
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((parts) => parts.join(""));

function patternOf(schema: JsonSchema): RegExp | undefined {
  if (typeof schema.pattern !== "string") return undefined;
  try {
    return new RegExp(schema.pattern);
  } catch {
    return undefined;
  }
}

/** Strings the schema allows (or means to: its length limits count code points). */
function stringFor(schema: JsonSchema): fc.Arbitrary<string> {
  if (schema.format === "uuid") return uuid;
  if (schema.format === "date-time") return dateTime;
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.min(schema.maxLength ?? 40, 40);
  const pattern = patternOf(schema);
  if (pattern) {
    return fc
      .stringMatching(pattern, { size: "xsmall" })
      .filter((s) => s.length >= minLength && s.length <= (schema.maxLength ?? Infinity));
  }
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: "grapheme-ascii", minLength, maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength, maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", minLength, maxLength }) },
    {
      weight: 6,
      arbitrary: trickyText.filter((s) => [...s].length >= minLength && [...s].length <= maxLength),
    },
  );
}

/** Names that stand for ids (the document's path parameters: repoId, userId…). */
type IdNames = ReadonlySet<string>;

/**
 * A value for `schema`, mostly valid, sometimes hostile. `name` is the field or parameter it
 * fills: a string named like an id (one of `ids`) is often a real one the test knows.
 */
function valueFor(schema: JsonSchema, ids: IdNames, name?: string): fc.Arbitrary<unknown> {
  return fc.oneof(
    {
      weight: 9,
      arbitrary: validFor(schema, ids, name !== undefined && ids.has(name) ? name : undefined),
    },
    { weight: 1, arbitrary: hostileValue },
  );
}

function validFor(schema: JsonSchema, ids: IdNames, name?: string): fc.Arbitrary<unknown> {
  if (Array.isArray(schema.anyOf) || Array.isArray(schema.oneOf)) {
    const branches = (schema.anyOf ?? schema.oneOf) as JsonSchema[];
    return fc.oneof(...branches.map((branch) => validFor(branch, ids, name)));
  }
  if ("const" in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  switch (schema.type) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer":
      return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 });
    case "number":
      return fc.double({
        min: schema.minimum ?? -1e6,
        max: schema.maximum ?? 1e6,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case "string": {
      const plain = stringFor(schema);
      if (!name) return plain;
      return fc.oneof(
        { weight: 9, arbitrary: refTo(name, plain) },
        { weight: 1, arbitrary: plain },
      );
    }
    case "array":
      return fc.array(valueFor(schema.items ?? {}, ids), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 3, 3),
      });
    case "object":
      return objectFor(schema, ids);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function refTo(name: string, fallback: fc.Arbitrary<string>): fc.Arbitrary<Ref> {
  return fc
    .tuple(fc.nat({ max: 15 }), fallback, fc.nat({ max: 7 }))
    .map(([pick, value, upper]) => new Ref(name, pick, value, upper === 0));
}

/** The schema's properties (required ones always, optional ones sometimes), then maybe a twist. */
function objectFor(schema: JsonSchema, ids: IdNames): fc.Arbitrary<Record<string, unknown>> {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = (schema.required ?? []) as string[];
  const shape = Object.fromEntries(
    Object.entries(properties).map(([key, property]) => [key, valueFor(property, ids, key)]),
  );
  let object: fc.Arbitrary<Record<string, unknown>> = fc.record(shape, {
    requiredKeys: required.filter((key) => key in shape),
  });
  const extra = schema.additionalProperties;
  if (extra && typeof extra === "object") {
    const keys = stringFor({ type: "string", ...(schema.propertyNames ?? {}) });
    object = fc
      .tuple(object, fc.dictionary(keys, valueFor(extra, ids), { maxKeys: 4 }))
      .map(([known, more]) => ({ ...more, ...known }));
  }
  const twists: fc.WeightedArbitrary<Record<string, unknown>>[] = [
    {
      weight: 1,
      arbitrary: fc
        .tuple(object, fc.constantFrom(...PROTOTYPE_KEYS, "unknownField"), hostileValue)
        .map(([value, key, extraValue]) => withKey(value, key, extraValue)),
    },
  ];
  const keys = Object.keys(properties);
  if (keys.length > 0) {
    // One field left out: required ones must be missed, optional ones not.
    twists.push({
      weight: 1,
      arbitrary: fc.tuple(object, fc.constantFrom(...keys)).map(([value, key]) => {
        const { [key]: _, ...rest } = value;
        return rest;
      }),
    });
  }
  return fc.oneof({ weight: 10, arbitrary: object }, ...twists);
}

/** What a path parameter carries: a value to percent-encode, or raw text put in the path as is. */
export type PathPiece = { encode: unknown } | { raw: string };

const RAW_PATH_PIECES = [
  "%ED%A0%80",
  "%ED%B0%80x",
  "%",
  "%zz",
  "%2F",
  "a/b",
  "..",
  "%2e%2e",
  "",
  "%00",
  "%20",
  "%E2%80%AE",
  "%27%20OR%201%3D1%20--",
];

function pathPiece(parameter: Parameter, ids: IdNames): fc.Arbitrary<PathPiece> {
  return fc.oneof(
    {
      weight: 14,
      arbitrary: valueFor(parameter.schema, ids, parameter.name).map((encode) => ({ encode })),
    },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_PATH_PIECES).map((raw) => ({ raw })) },
  );
}

const EXTRA_QUERY_NAMES = [...PROTOTYPE_KEYS, "limit", "cursor", "workspaceId", "x"];

function queryFor(operation: DocumentedOperation, ids: IdNames): fc.Arbitrary<[string, unknown][]> {
  const documented = operation.query.map((parameter) => {
    const present = valueFor(parameter.schema, ids, parameter.name).map(
      (value): [string, unknown] => [parameter.name, value],
    );
    if (parameter.required) return present;
    return fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: present });
  });
  const extra = fc.array(
    fc.tuple(
      fc.constantFrom(...EXTRA_QUERY_NAMES),
      fc.oneof(hostileString, fc.string({ maxLength: 8 })),
    ),
    { maxLength: 2 },
  );
  return fc
    .tuple(fc.tuple(...documented), fc.oneof({ weight: 5, arbitrary: fc.constant([]) }, extra))
    .map(([known, more]) => [
      ...known.filter((entry): entry is [string, unknown] => entry !== null),
      ...(more as [string, unknown][]),
    ]);
}

/** A request body: JSON of a value, or text or bytes sent as they are. */
export type BodyPlan =
  | { kind: "none" }
  | { kind: "json"; value: unknown }
  | { kind: "text"; text: string }
  | { kind: "bytes"; bytes: number[] };

const NO_BODY: BodyPlan = { kind: "none" };

const MALFORMED_BODIES = [
  "{",
  '{"name": }',
  "{'name': 'single quotes'}",
  '"\\ud800"',
  "nul",
  "1e999",
  "\ufeff{}",
  '{"a":1}{"b":2}',
  "[".repeat(5000),
  "name=form&encoded=1",
];

function bodyFor(operation: DocumentedOperation, ids: IdNames): fc.Arbitrary<BodyPlan> {
  const json = (value: fc.Arbitrary<unknown>) =>
    value.map((v): BodyPlan => ({ kind: "json", value: v }));
  const twisted = [
    { weight: 1, arbitrary: fc.constant(NO_BODY) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(...MALFORMED_BODIES)
        .map((text): BodyPlan => ({ kind: "text", text })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom([0xff, 0xfe], [0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d], [0xed, 0xa0, 0x80])
        .map((bytes): BodyPlan => ({ kind: "bytes", bytes: [...bytes] })),
    },
    { weight: 1, arbitrary: json(hostileValue) },
  ];
  if (!operation.body) {
    return fc.oneof({ weight: 12, arbitrary: fc.constant(NO_BODY) }, ...twisted);
  }
  const bodies = [
    { weight: 16, arbitrary: json(valueFor(operation.body.schema, ids)) },
    ...twisted,
  ];
  // A body the document lets a client leave out (a roll with the defaults) is often left out.
  if (!operation.body.required) bodies.push({ weight: 3, arbitrary: fc.constant(NO_BODY) });
  return fc.oneof(...bodies);
}

/** Who sends it: a user of the test's world, its gateway, or someone with a bad or no token. */
export type CallerPlan =
  | "principal"
  | "admin"
  | "writer"
  | "reader"
  | "outsider"
  | "gateway"
  | "anonymous"
  | { subject: string | Huge }
  | { authorization: string };

/**
 * Whom "principal" stands for: nobody on a public operation (the document gives it no
 * security), a gateway on the verification plane (src/app.ts mounts /verify/* with
 * authenticateGateway), the workspace's ADMIN everywhere else.
 */
export const principalOf = (operation: DocumentedOperation): "anonymous" | "gateway" | "admin" => {
  if (!operation.secured) return "anonymous";
  return operation.path.startsWith("/verify/") ? "gateway" : "admin";
};

/** The world's named callers' tokens. */
export type CallerTokens = Record<"admin" | "writer" | "reader" | "outsider" | "gateway", string>;

/**
 * The Authorization header a caller plan sends, if any: a named caller's token, a token made
 * for a (possibly huge) subject with `tokenFor`, or a header given as is.
 */
export const authorizationFor =
  (tokens: CallerTokens, tokenFor: (subject: string) => Promise<string>) =>
  async (caller: CallerPlan, operation: DocumentedOperation): Promise<string | undefined> => {
    const who = caller === "principal" ? principalOf(operation) : caller;
    if (who === "anonymous") return undefined;
    if (typeof who === "object") {
      if ("authorization" in who) return who.authorization;
      const subject = who.subject instanceof Huge ? who.subject.value : who.subject;
      return `Bearer ${await tokenFor(subject)}`;
    }
    return `Bearer ${tokens[who]}`;
  };

const BAD_AUTHORIZATIONS = [
  "Bearer",
  "Bearer ",
  "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
  "Bearer not.a.jwt",
  "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
  "Bearer ' OR 1=1 --",
  "Token abc",
];

const caller: fc.Arbitrary<CallerPlan> = fc.oneof(
  { weight: 30, arbitrary: fc.constant<CallerPlan>("principal") },
  {
    weight: 4,
    arbitrary: fc.constantFrom<CallerPlan>("admin", "writer", "reader", "outsider", "gateway"),
  },
  { weight: 1, arbitrary: fc.constant<CallerPlan>("anonymous") },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...BAD_AUTHORIZATIONS).map((authorization) => ({ authorization })),
  },
  // Tokens whose subject is itself hostile: the user id every write records.
  { weight: 1, arbitrary: hostileString.map((subject) => ({ subject })) },
);

/** Methods besides the operation's own: unknown, unsupported, lower case. */
const ODD_METHODS = [
  "PATCH",
  "PUT",
  "TRACE",
  "PROPFIND",
  "OPTIONS",
  "HEAD",
  "GET",
  "DELETE",
  "POST",
  "patch",
  "propfind",
];

const CONTENT_TYPES: (string | null)[] = [
  "text/plain",
  "multipart/form-data; boundary=fuzz",
  "application/x-www-form-urlencoded",
  "application/json; charset=latin1",
  "application/json; charset=utf-8",
  'application/json; charset="UTF-8"',
  "APPLICATION/JSON",
  "application/merge-patch+json",
  null,
];

/** Extra headers; the sender makes each X-Request-Id unique (see world.ts). */
const EXTRA_HEADERS: [string, string][] = [
  ["X-Request-Id", "client-chosen"],
  ["X-Request-Id", "has spaces and ; semicolons"],
  ["X-Request-Id", "x".repeat(300)],
  ["Origin", "https://evil.example"],
  ["Accept", "text/html"],
  ["X-HTTP-Method-Override", "DELETE"],
  ["Accept-Encoding", "gzip"],
  ["X-Forwarded-For", "' OR 1=1 --"],
];

/** One request to an operation, before the world fills in its real ids and tokens. */
export interface RequestPlan {
  operation: DocumentedOperation;
  method: string;
  params: Record<string, PathPiece>;
  query: [string, unknown][];
  body: BodyPlan;
  /** "default": application/json when there is a body; null: no Content-Type at all. */
  contentType: string | null | "default";
  caller: CallerPlan;
  headers: [string, string][];
}

// A plan prints as the request it stands for, not as the whole operation it was made from.
const planToString = function (this: RequestPlan) {
  const { operation, ...rest } = this;
  return `${operation.id} ${fc.stringify(rest)}`;
};
const printable = (plan: RequestPlan): RequestPlan =>
  Object.defineProperty(plan, fc.toStringMethod, { value: planToString, enumerable: false });

/**
 * Requests for `operation`, derived from its documented parameters and body; `operations` (the
 * whole document) says which names are ids: those of path parameters.
 */
export function requestFor(
  operation: DocumentedOperation,
  operations: DocumentedOperation[],
): fc.Arbitrary<RequestPlan> {
  const ids: IdNames = new Set(operations.flatMap((o) => o.params.map((p) => p.name)));
  const params = fc.record(
    Object.fromEntries(
      operation.params.map((parameter) => [parameter.name, pathPiece(parameter, ids)]),
    ),
  );
  return fc
    .record({
      method: fc.oneof(
        { weight: 14, arbitrary: fc.constant(operation.method) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(...ODD_METHODS, operation.method.toLowerCase()),
        },
      ),
      params,
      query: queryFor(operation, ids),
      body: bodyFor(operation, ids),
      contentType: fc.oneof(
        { weight: 12, arbitrary: fc.constant<"default">("default") },
        { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
      ),
      caller,
      headers: fc.oneof(
        { weight: 6, arbitrary: fc.constant<[string, string][]>([]) },
        { weight: 1, arbitrary: fc.subarray(EXTRA_HEADERS, { maxLength: 2 }) },
      ),
    })
    .map((plan) => printable({ operation, ...plan }));
}
