import * as z from "zod";

// With the u flag a lone surrogate is a code point of its own, \p{Cs}; a proper pair is not.
const LONE_SURROGATE = /\p{Cs}/u;
// C0, DEL and C1 controls: never text.
const CONTROL_CHARACTERS = /\p{Cc}/u;
// Bidi embeddings, overrides (U+202A–U+202E) and isolates (U+2066–U+2069): they reorder what a
// reader sees, so a name could display as another. Marks (U+200E/F) and joiners stay allowed.
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/u;
// Format characters (zero-width space and joiners, bidi controls, BOM, soft hyphen, …): an id
// holding one looks the same as one without it.
const FORMAT_CHARACTERS = /\p{Cf}/u;
const EDGE_WHITESPACE = /^\s|\s$/u;

/**
 * A display name: 1–128 characters (code points) after trimming; well-formed text with no
 * control characters and no bidi overrides or isolates. Any script and emoji (ZWJ sequences
 * too) are fine.
 */
export const NameSchema = z
  .string()
  .trim()
  .refine((name) => name.length > 0, "must not be empty")
  .refine((name) => [...name].length <= 128, "must be at most 128 characters")
  .refine((name) => !LONE_SURROGATE.test(name), "must be well-formed Unicode (a lone surrogate)")
  .refine((name) => !CONTROL_CHARACTERS.test(name), "must not contain control characters")
  .refine(
    (name) => !BIDI_CONTROLS.test(name),
    "must not contain bidi override or isolate characters (U+202A–U+202E, U+2066–U+2069)",
  )
  .meta({ minLength: 1, maxLength: 128, examples: ["CI Bot"] });

/**
 * A user id as it appears in a JWT `sub`, and as members are named. Two ids that look the same
 * must be the same id: no whitespace at either end, no control or format characters (zero-width,
 * bidi), well-formed and in Unicode NFC. Checked in that order so the first problem is named.
 */
export const UserIdSchema = z
  .string()
  .min(1, { message: "must not be empty", abort: true })
  .max(255, { message: "must be at most 255 characters", abort: true })
  .refine((id) => !LONE_SURROGATE.test(id), {
    message: "must be well-formed Unicode (a lone surrogate)",
    abort: true,
  })
  .refine((id) => /\S/u.test(id), { message: "must not be blank", abort: true })
  .refine((id) => !EDGE_WHITESPACE.test(id), {
    message: "must not start or end with whitespace",
    abort: true,
  })
  .refine((id) => !CONTROL_CHARACTERS.test(id) && !FORMAT_CHARACTERS.test(id), {
    message: "must not contain control or format characters (such as zero-width or bidi controls)",
    abort: true,
  })
  .refine((id) => id.normalize("NFC") === id, "must be in Unicode normalization form C (NFC)")
  .meta({ examples: ["user_2b9f1c"] });

/** Ids are UUIDs. D1 compares text case-sensitively and ids are stored lower-case, so input is folded. */
export const UuidSchema = z.uuid("must be a UUID").overwrite((id) => id.toLowerCase());

export const TimestampSchema = z.iso.datetime().meta({ examples: ["2026-11-23T09:30:00.000Z"] });

export const ErrorBodySchema = z
  .object({
    success: z.literal(false),
    message: z.string().meta({ examples: ["Insufficient permissions"] }),
    code: z
      .string()
      .optional()
      .meta({ examples: ["FORBIDDEN"] }),
    requestId: z.string().optional(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: "Error" });

export const MessageResponseSchema = z
  .object({ success: z.literal(true), message: z.string() })
  .meta({ id: "MessageResponse" });
