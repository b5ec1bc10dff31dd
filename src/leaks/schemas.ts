import * as z from "zod";
import { KeyIdSchema, RepoIdSchema, WorkspaceIdSchema } from "../http/schemas";

/** Most secrets one GitHub report may carry (docs/secret-scanning.md); more is refused, 413. */
export const MAX_REPORTED_TOKENS = 5_000;
/** The largest GitHub report read: 5,000 findings with long URLs fit. */
export const MAX_REPORT_BYTES = 2 * 1024 * 1024;

/** GitHub's partner report: an array of findings. Fields GitHub may add are ignored. */
export const GithubReportSchema = z.array(
  z.object({
    token: z.string().min(1).max(1_000),
    type: z.string().min(1).max(200),
    url: z.string().max(4_096).nullish(),
    source: z.string().max(100).nullish(),
  }),
);

export const GithubFeedbackSchema = z
  .array(
    z.object({
      token_hash: z.string(),
      token_type: z.string(),
      label: z.enum(["true_positive", "false_positive"]),
    }),
  )
  .meta({ id: "GithubSecretScanningFeedback" });

export const LeakResponseSchema = z.enum(["disable", "revoke", "notify"]).meta({
  id: "LeakResponse",
  description: "What a leaked secret does to its key (docs/secret-scanning.md)",
});

export const LeakResponseSettingSchema = z
  .object({ success: z.literal(true), leakResponse: LeakResponseSchema })
  .meta({ id: "LeakResponseSetting" });

export const UpdateLeakResponseBodySchema = z
  .strictObject({ leakResponse: LeakResponseSchema })
  .meta({ id: "UpdateLeakResponseRequest" });

export const WorkspaceLeakParamsSchema = z.object({ workspaceId: WorkspaceIdSchema });

export const SelfReportBodySchema = z
  .strictObject({
    secret: z
      .string()
      .min(1, "is required")
      .max(200, "must be at most 200 characters")
      .meta({
        description: "A storage or AI secret",
        examples: ["fbsk_4fJq8ZrT2mLx9WbN6cVh1KpD3sYg7000000"],
      }),
    url: z
      .url("must be a URL")
      .max(2_048)
      .optional()
      .meta({
        description: "Where it was published",
        examples: ["https://github.com/acme/site/commit/4f2a9c1"],
      }),
  })
  .meta({ id: "LeakSelfReport" });

export const SelfReportAnswerSchema = z
  .object({
    success: z.literal(true),
    found: z.boolean().meta({
      description: "false also for a key you may not see",
    }),
    key: z
      .object({
        kind: z.enum(["storage", "ai"]),
        id: KeyIdSchema,
        name: z.string(),
        repoId: RepoIdSchema,
      })
      .optional(),
    leakResponse: LeakResponseSchema.optional(),
  })
  .meta({ id: "LeakSelfReportAnswer" });
