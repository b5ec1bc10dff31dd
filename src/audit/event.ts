import * as z from "zod";

export const AUDIT_EVENT_TYPES = [
  "workspace.created",
  "workspace.member_added",
  "workspace.member_updated",
  "workspace.member_removed",
  "repo.created",
  "apikey.created",
  "apikey.updated",
  "apikey.deleted",
  "ai_apikey.created",
  "ai_apikey.updated",
  "ai_apikey.deleted",
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/**
 * The only fields a change may record. Secrets and ciphertexts are not among them, so the
 * schema itself keeps them out of every event.
 */
export const AUDITED_FIELDS = ["name", "accessType", "aiType", "role", "userId", "key"] as const;

const ChangeSchema = z.object({
  before: z.string().nullable().optional(),
  after: z.string().nullable().optional(),
});

export const AuditChangesSchema = z.partialRecord(z.enum(AUDITED_FIELDS), ChangeSchema);

export const AuditEventSchema = z
  .strictObject({
    id: z.uuid(),
    type: z.enum(AUDIT_EVENT_TYPES),
    at: z.iso.datetime(),
    actorId: z.string().min(1),
    workspaceId: z.uuid(),
    repoId: z.uuid().optional(),
    targetId: z.string().min(1).optional(),
    requestId: z.string().min(1),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    changes: AuditChangesSchema.optional(),
  })
  .meta({ id: "AuditEvent" });

export type AuditEvent = z.infer<typeof AuditEventSchema>;
export type AuditChanges = z.infer<typeof AuditChangesSchema>;
