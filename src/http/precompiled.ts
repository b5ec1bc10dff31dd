import type * as z from "zod";

/** Whether a value is one the schema accepts and would answer unchanged. */
type Accepts = (value: unknown) => boolean;

interface Def {
  type: string;
  checks?: { _zod: { def: CheckDef } }[];
  [key: string]: unknown;
}

interface CheckDef {
  check: string;
  format?: string;
  pattern?: RegExp;
  minimum?: number;
  maximum?: number;
  length?: number;
  fn?: (value: unknown) => unknown;
}

class Unsupported extends Error {}

/** String formats zod checks with their pattern alone (not z.url(), which parses a URL). */
const PATTERN_FORMATS = new Set(["uuid", "guid", "email", "datetime", "date", "time"]);

const defOf = (schema: unknown): Def => (schema as { _zod: { def: Def } })._zod.def;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The checks of a string, object or record: lengths, a pattern, or a refinement. */
function checksOf(def: Def): ((value: never) => boolean)[] {
  return (def.checks ?? []).map(({ _zod: { def: check } }) => {
    switch (check.check) {
      case "min_length":
        return (value: string) => value.length >= (check.minimum as number);
      case "max_length":
        return (value: string) => value.length <= (check.maximum as number);
      case "length_equals":
        return (value: string) => value.length === check.length;
      case "string_format": {
        const pattern = check.pattern;
        if (check.format !== "regex" || !(pattern instanceof RegExp)) throw new Unsupported();
        return (value: string) => {
          pattern.lastIndex = 0;
          return pattern.test(value);
        };
      }
      case "custom": {
        const fn = check.fn;
        if (typeof fn !== "function") throw new Unsupported();
        // An async refinement would make zod's synchronous parse throw: never accepted here.
        return (value: unknown) => fn(value) === true;
      }
      default:
        // Overwrites (trim, case), other formats, bounds of numbers: zod's to do.
        throw new Unsupported();
    }
  });
}

const all =
  (checks: ((value: never) => boolean)[]) =>
  (value: unknown): boolean => {
    for (const check of checks) if (!check(value as never)) return false;
    return true;
  };

function compile(schema: unknown): Accepts {
  const def = defOf(schema);
  switch (def.type) {
    case "string": {
      if (def.coerce) throw new Unsupported();
      const checks = all(checksOf(def));
      // A string format (z.uuid(), z.iso.datetime(), z.url()…) is checked by the schema itself,
      // not by def.checks: known here only where that check is exactly its pattern.
      if (def.format === undefined) return (value) => typeof value === "string" && checks(value);
      const pattern = def.pattern;
      if (!PATTERN_FORMATS.has(def.format as string) || !(pattern instanceof RegExp)) {
        throw new Unsupported();
      }
      return (value) => {
        if (typeof value !== "string") return false;
        pattern.lastIndex = 0;
        return pattern.test(value) && checks(value);
      };
    }
    case "enum": {
      const values = new Set(Object.values(def.entries as Record<string, unknown>));
      return (value) => values.has(value);
    }
    case "literal": {
      const values = new Set(def.values as unknown[]);
      return (value) => values.has(value);
    }
    case "optional": {
      const inner = compile(def.innerType);
      return (value) => value === undefined || inner(value);
    }
    case "nullable": {
      const inner = compile(def.innerType);
      return (value) => value === null || inner(value);
    }
    case "object": {
      // Strict (catchall never) refuses other keys; stripping ones would drop them, changing
      // the value: either way a value with another key is left to zod.
      const catchall = def.catchall === undefined ? undefined : defOf(def.catchall).type;
      if (catchall !== undefined && catchall !== "never") throw new Unsupported();
      const fields = Object.entries(def.shape as Record<string, unknown>).map(
        ([key, field]) => [key, compile(field)] as const,
      );
      const known = new Set(fields.map(([key]) => key));
      const checks = all(checksOf(def));
      return (value) => {
        if (!isPlainObject(value)) return false;
        for (const key in value) if (!known.has(key)) return false;
        for (const [key, accepts] of fields) {
          if (!accepts(Object.hasOwn(value, key) ? value[key] : undefined)) return false;
        }
        return checks(value);
      };
    }
    case "record": {
      if (defOf(def.keyType).type !== "string" || def.mode !== undefined) throw new Unsupported();
      const key = compile(def.keyType);
      const field = compile(def.valueType);
      const checks = all(checksOf(def));
      return (value) => {
        if (!isPlainObject(value)) return false;
        for (const name in value) {
          // zod's copy would set a prototype where JSON.parse made a field.
          if (name === "__proto__" || !key(name) || !field(value[name])) return false;
        }
        return checks(value);
      };
    }
    default:
      throw new Unsupported();
  }
}

const compiled = new WeakMap<object, Accepts | null>();

/**
 * A precompiled check of a fixed shape, read off the zod schema itself (so the shape is still
 * defined once): true only for a value the schema accepts and whose parse would equal it, so
 * the value can be used as it is. Schemas with anything it does not know (transforms,
 * defaults, unions, formats other than a pattern) have none: undefined, parse with zod. A value
 * it does not accept may still be valid (an object with a key to strip): parse it with zod,
 * which also words the refusal.
 */
export function precompiled(schema: z.ZodType): Accepts | undefined {
  let accepts = compiled.get(schema);
  if (accepts === undefined) {
    try {
      accepts = compile(schema);
    } catch (error) {
      if (!(error instanceof Unsupported)) throw error;
      accepts = null;
    }
    compiled.set(schema, accepts);
  }
  return accepts ?? undefined;
}

/** `schema.safeParse(value)`'s data, checked by `precompiled` first when the schema has one. */
export function parseAsIs<S extends z.ZodType>(
  schema: S,
  value: unknown,
): z.ZodSafeParseResult<z.output<S>> {
  if (precompiled(schema)?.(value)) return { success: true, data: value as z.output<S> };
  return schema.safeParse(value, { reportInput: true }) as z.ZodSafeParseResult<z.output<S>>;
}
