import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { routes } from "../../src/app";
import { precompiled } from "../../src/http/precompiled";
import { CreateStorageKeyBodySchema } from "../../src/keys/schemas";
import { VerifyAiRequestSchema, VerifyS3RequestSchema } from "../../src/verify/schemas";

const SIGNED = {
  method: "GET",
  url: "https://s3.example.com/0b5a7d2e-91c4-4f3a-8e6b-5c2d1a9f7e40/photos/cat.jpg",
  headers: {
    host: "s3.example.com",
    "x-amz-date": "20261128T120000Z",
    authorization: "AWS4-HMAC-SHA256 Credential=FBAK/20261128/auto/s3/aws4_request, ...",
  },
};

/** Values near a verification body: each field kept, dropped, or replaced by something else. */
const nearly = (valid: Record<string, unknown>, extraKeys: string[]) => {
  const anything = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.constantFrom("", "x".repeat(65), "x".repeat(513), "PUT", "GE T", "READ", "ADMIN", "root"),
    fc.integer(),
    fc.constant(null),
    fc.constant(undefined),
    fc.array(fc.string(), { maxLength: 2 }),
    fc.dictionary(
      fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom("", "__proto__", "x".repeat(257))),
      fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.constant("y".repeat(16_385))),
      { maxKeys: 4 },
    ),
  );
  const keys = [...Object.keys(valid), ...extraKeys];
  return fc
    .record(
      Object.fromEntries(
        keys.map((key) => [
          key,
          fc.oneof(
            { arbitrary: fc.constant(valid[key]), weight: 6 },
            fc.constant("<absent>"),
            anything,
          ),
        ]),
      ),
    )
    .map((fields) =>
      Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== "<absent>")),
    );
};

describe("a precompiled check of a fixed shape", () => {
  it("accepts only what zod accepts, and only values zod would answer unchanged", () => {
    const cases = [
      [
        VerifyS3RequestSchema,
        nearly({ ...SIGNED, requiredAccess: "READ", clientIp: "203.0.113.7" }, ["extra"]),
      ],
      [VerifyAiRequestSchema, nearly({ secret: "fbai_sk_x", clientIp: "203.0.113.7" }, ["Secret"])],
    ] as const;
    for (const [schema, values] of cases) {
      const accepts = precompiled(schema);
      expect(accepts).toBeDefined();
      let accepted = 0;
      fc.assert(
        fc.property(values, (value) => {
          // What JSON.parse would hand over: no undefined anywhere.
          const sent = JSON.parse(JSON.stringify(value));
          if (!accepts?.(sent)) return;
          accepted += 1;
          const parsed = schema.safeParse(sent);
          expect(parsed.success).toBe(true);
          expect(parsed.data).toStrictEqual(sent);
        }),
        { numRuns: 3000 },
      );
      expect(accepted).toBeGreaterThan(50);
    }
  });

  it("accepts a gateway's real verification bodies as they are", () => {
    expect(precompiled(VerifyS3RequestSchema)?.(SIGNED)).toBe(true);
    expect(precompiled(VerifyAiRequestSchema)?.({ secret: "fbai_sk_x" })).toBe(true);
  });

  it("leaves to zod a JSON field named __proto__, which its copy would not keep", () => {
    const sent = JSON.parse(`{"method":"GET","url":"https://h/b","headers":{"__proto__":"x"}}`);
    expect(precompiled(VerifyS3RequestSchema)?.(sent)).toBe(false);
  });

  it("checks a string format as zod does: a UUID, a date-time, an email by their pattern; a URL it leaves to zod", () => {
    const shapes = [
      [
        z.strictObject({ id: z.uuid() }),
        { id: "0b5a7d2e-91c4-4f3a-8e6b-5c2d1a9f7e40" },
        { id: "not-a-uuid" },
      ],
      [
        z.strictObject({ at: z.iso.datetime() }),
        { at: "2026-11-23T09:30:00.000Z" },
        { at: "tomorrow" },
      ],
      [z.strictObject({ to: z.email() }), { to: "ops@example.com" }, { to: "ops at example" }],
    ] as const;
    for (const [schema, valid, invalid] of shapes) {
      expect(precompiled(schema)?.(valid), JSON.stringify(valid)).toBe(true);
      expect(precompiled(schema)?.(invalid), JSON.stringify(invalid)).toBe(false);
      expect(schema.safeParse(invalid).success).toBe(false);
    }
    // z.url() parses the URL rather than matching a pattern: zod's to check.
    expect(precompiled(z.strictObject({ url: z.url() }))).toBeUndefined();
  });

  it("never accepts what zod refuses, for every operation's body: fields replaced by wrong strings", () => {
    const wrong = fc.oneof(
      fc.constantFrom(
        "",
        "not a url",
        "not-a-uuid",
        "tomorrow",
        "x".repeat(5_000),
        "READ",
        "WRITE",
      ),
      fc.string({ maxLength: 40 }),
    );
    for (const { operation } of routes) {
      const schema = operation.body;
      const accepts = schema && precompiled(schema);
      if (!accepts) continue;
      fc.assert(
        fc.property(fc.dictionary(fc.string({ maxLength: 12 }), wrong, { maxKeys: 4 }), (value) => {
          if (accepts(value))
            expect(schema.safeParse(value).success, operation.operationId).toBe(true);
        }),
        { numRuns: 300 },
      );
    }
  });

  it("has none for schemas that change what they parse (trim, defaults, transforms)", () => {
    expect(precompiled(CreateStorageKeyBodySchema)).toBeUndefined();
    expect(precompiled(z.object({ n: z.string().default("x") }))).toBeUndefined();
    expect(precompiled(z.string().trim())).toBeUndefined();
  });
});
