import * as z from "zod";
import { base64ToBytes, bytesToBase64Url } from "../crypto/base64";
import { ApiError } from "./error";

/** `?limit=`: digits only (Number() alone would also take "0x10", "1e1" and " 5"), 1 to 100. */
export const PageLimitSchema = z
  .string()
  .regex(/^\d{1,3}$/, "must be a whole number from 1 to 100")
  .transform(Number)
  .pipe(z.int().min(1, "must be at least 1").max(100, "must be at most 100"));

export const CursorParamSchema = z.string().max(512).meta({
  description: "nextCursor of the previous page",
});

const CursorSchema = z.tuple([z.iso.datetime(), z.uuid()]);

/**
 * Opaque to clients: the (timestamp, id) of the last item served, base64url JSON. Lists are
 * newest first with ties broken by id, so keyset pagination on that pair has no repeats and no
 * gaps across pages.
 */
export function encodeCursor(at: string, id: string): string {
  return bytesToBase64Url(new TextEncoder().encode(JSON.stringify([at, id])));
}

export function decodeCursor(cursor: string): [string, string] {
  try {
    return CursorSchema.parse(JSON.parse(new TextDecoder().decode(base64ToBytes(cursor))));
  } catch {
    throw new ApiError(
      "VALIDATION_FAILED",
      "Invalid request query. cursor: not a cursor this API issued",
      [{ path: "cursor", message: "not a cursor this API issued" }],
    );
  }
}
