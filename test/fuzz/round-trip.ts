import { branchesOf, type JsonSchema } from "./documented-operations";

const formatsOf = (schema: JsonSchema) => branchesOf(schema).map((branch) => branch.format);

/**
 * Whether `actual`, read back, is the `sent` value of a field with `schema`, as the API
 * normalizes it: UUIDs folded to lower case, date-times the same instant (stored in UTC), other
 * strings trimmed (names are; an identifier with edge whitespace must be refused, so it never
 * gets here).
 */
export function readsBackAs(sent: unknown, schema: JsonSchema, actual: unknown): boolean {
  if (sent === null) return actual === null;
  if (typeof sent === "string") {
    if (typeof actual !== "string") return false;
    const formats = formatsOf(schema);
    if (formats.includes("date-time")) return Date.parse(actual) === Date.parse(sent);
    if (formats.includes("uuid")) return actual.toLowerCase() === sent.toLowerCase();
    return actual === sent.trim();
  }
  return JSON.stringify(actual) === JSON.stringify(sent);
}

/** A value as JSON, every non-ASCII character escaped, so invisible ones show. */
export const show = (value: unknown) =>
  JSON.stringify(value)?.replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );

/** The sent fields that `item` has and does not read back as sent, described. */
export function fieldProblems(
  sent: unknown,
  bodySchema: JsonSchema,
  item: Record<string, unknown>,
): string[] {
  if (sent === null || typeof sent !== "object") return [];
  const properties = (bodySchema.properties ?? {}) as Record<string, JsonSchema>;
  return Object.entries(sent)
    .filter(([key]) => Object.hasOwn(item, key))
    .filter(([key, value]) => !readsBackAs(value, properties[key] ?? {}, item[key]))
    .map(([key, value]) => {
      // Stored as sent, edges and all: names are trimmed and ids with edge spaces refused.
      const untrimmed = typeof value === "string" && value !== value.trim() && item[key] === value;
      const why = untrimmed ? " (not trimmed, nor refused)" : "";
      return `${key}: sent ${show(value)}, read back ${show(item[key])}${why}`;
    });
}

/** The items of a list answer: its first array-valued field (workspaces, users, keys…). */
export function itemsOf(body: unknown): Record<string, unknown>[] | undefined {
  if (body === null || typeof body !== "object") return undefined;
  const list = Object.values(body).find(Array.isArray);
  return list as Record<string, unknown>[] | undefined;
}

/** Whether an item is the one with `identity`: its id, or its field named like the item param. */
export function isItem(
  item: Record<string, unknown>,
  identity: unknown,
  itemParam: string,
  idSchema: JsonSchema,
): boolean {
  const own = Object.hasOwn(item, itemParam) ? item[itemParam] : item.id;
  if (typeof identity !== "string" || typeof own !== "string") return false;
  if (formatsOf(idSchema).includes("uuid")) return own.toLowerCase() === identity.toLowerCase();
  return own === identity;
}
