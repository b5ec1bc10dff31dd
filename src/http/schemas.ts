import { z } from "@hono/zod-openapi";

// Control characters (C0, DEL, C1) are refused in names and user ids; everything else is text.
const CONTROL_CHARACTERS = /\p{Cc}/u;

/** A display name: 1–128 characters (code points) after trimming, no control characters. */
export const NameSchema = z
  .string()
  .trim()
  .refine((name) => name.length > 0, "must not be empty")
  .refine((name) => [...name].length <= 128, "must be at most 128 characters")
  .refine((name) => !CONTROL_CHARACTERS.test(name), "must not contain control characters")
  .openapi({ minLength: 1, maxLength: 128, example: "CI Bot" });

/** A user id as it appears in a JWT `sub`. */
export const UserIdSchema = z
  .string()
  .min(1, "must not be empty")
  .max(255, "must be at most 255 characters")
  .refine((id) => !CONTROL_CHARACTERS.test(id), "must not contain control characters")
  .openapi({ example: "user_2b9f1c" });

export const UuidSchema = z.uuid("must be a UUID");

export const TimestampSchema = z.iso.datetime().openapi({ example: "2026-11-23T09:30:00.000Z" });

export const ErrorBodySchema = z
  .object({
    success: z.literal(false),
    message: z.string().openapi({ example: "Insufficient permissions" }),
    code: z.string().optional().openapi({ example: "FORBIDDEN" }),
    requestId: z.string().optional(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Error");

export const MessageResponseSchema = z
  .object({ success: z.literal(true), message: z.string() })
  .openapi("MessageResponse");
