import * as z from "zod";
import { ApiError, type ErrorIssue } from "./error";

type Target = "param" | "query" | "json";
const WHERE: Record<Target, string> = { param: "path", query: "query", json: "body" };

/** The fields an object schema knows at `path`, to suggest one for a field it does not. */
function fieldsAt(schema: z.ZodType | undefined, path: PropertyKey[]): string[] {
  let at: unknown = schema;
  for (const key of path) {
    if (!(at instanceof z.ZodObject)) return [];
    at = at.shape[String(key)];
  }
  return at instanceof z.ZodObject ? Object.keys(at.shape) : [];
}

/** A known field the caller probably meant: same letters in another case, or one is the other's start. */
function suggestion(unknown: string, known: string[]): string | undefined {
  const lower = unknown.toLowerCase();
  return (
    known.find((field) => field.toLowerCase() === lower) ??
    known.find((field) => {
      const other = field.toLowerCase();
      return lower.length >= 3 && (other.startsWith(lower) || lower.startsWith(other));
    })
  );
}

/** Each zod issue as the API words it: a missing field "is required", an unknown one names its fix. */
function describe(issue: z.core.$ZodIssue, where: string, schema?: z.ZodType): ErrorIssue[] {
  const path = issue.path.length > 0 ? issue.path.join(".") : where;
  // Parsed with reportInput, so a missing field is told apart from a wrong one.
  if (issue.path.length > 0 && "input" in issue && issue.input === undefined) {
    return [{ path, message: "is required" }];
  }
  if (issue.code === "unrecognized_keys") {
    const known = fieldsAt(schema, issue.path);
    return issue.keys.map((key) => {
      const meant = suggestion(key, known);
      return {
        path,
        message: meant
          ? `unknown field "${key}"; did you mean "${meant}"?`
          : `unknown field "${key}"${known.length > 0 ? ` (expected ${known.map((k) => `"${k}"`).join(", ")})` : ""}`,
      };
    });
  }
  return [{ path, message: issue.message }];
}

/**
 * Turns a failed zod validation into the API's one error type, with every issue listed. The
 * message leads with a misspelt field's fix, since it usually explains the other issues too.
 */
export function validationError(
  error: { issues: z.core.$ZodIssue[] },
  target: Target,
  schema?: z.ZodType,
): ApiError {
  const where = WHERE[target];
  const issues = error.issues.flatMap((issue) => describe(issue, where, schema));
  const first = issues.find((issue) => issue.message.includes("did you mean")) ?? issues[0];
  const summary = first ? `${first.path}: ${first.message}` : "invalid";
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  return new ApiError("VALIDATION_FAILED", `Invalid request ${where}. ${summary}${more}`, issues);
}
