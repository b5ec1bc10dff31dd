import * as z from "zod";

// Control characters (C0, DEL, C1) are refused in names and user ids; everything else is text.
const CONTROL_CHARACTERS = /\p{Cc}/u;

/** A display name: 1–128 characters (code points) after trimming, no control characters. */
export const NameSchema = z
  .string()
  .trim()
  .refine((name) => name.length > 0, "must not be empty")
  .refine((name) => [...name].length <= 128, "must be at most 128 characters")
  .refine((name) => !CONTROL_CHARACTERS.test(name), "must not contain control characters")
  .meta({ minLength: 1, maxLength: 128, examples: ["CI Bot"] });

/** A user id as it appears in a JWT `sub`. */
export const UserIdSchema = z
  .string()
  .min(1, "must not be empty")
  .max(255, "must be at most 255 characters")
  .refine((id) => !CONTROL_CHARACTERS.test(id), "must not contain control characters")
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
