import * as z from "zod";
import { CLIENT_REQUEST_ID } from "../http/request-id";

export const AUDIT_EVENT_TYPES = [
  "workspace.created",
  "workspace.member_added",
  "workspace.member_updated",
  "workspace.member_removed",
  "workspace.leak_response_updated",
  "repo.created",
  "apikey.created",
  "apikey.updated",
  "apikey.deleted",
  "apikey.rolled",
  "apikey.temporary_credentials_issued",
  "apikey.leaked",
  "ai_apikey.created",
  "ai_apikey.updated",
  "ai_apikey.deleted",
  "ai_apikey.rolled",
  "ai_apikey.leaked",
  "ai_provider.set",
  "ai_provider.removed",
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/**
 * The only fields a change may record. Secrets and ciphertexts are not among them, so the
 * schema itself keeps them out of every event.
 */
export const AUDITED_FIELDS = [
  "name",
  "accessType",
  "aiType",
  "role",
  "userId",
  "key",
  "status",
  "expiresAt",
  "previousSecretExpiresAt",
  // A temporary credential's scope (src/credentials): lists as JSON text.
  "permission",
  "prefixes",
  "objects",
  // Where a leaked secret was found (never the secret), and what a workspace does about leaks.
  "leakSource",
  "leakUrl",
  "leakResponse",
  // An AI key's model allow-list (JSON text); a provider key's base URL and last 4 characters.
  "models",
  "baseUrl",
  "apiKeyLast4",
] as const;

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
    requestId: z.string().min(1).meta({
      description: "The service's id of the request that made the change (its X-Request-Id)",
    }),
    clientRequestId: z.string().regex(CLIENT_REQUEST_ID).optional().meta({
      description:
        "The X-Request-Id the client sent, when it was 1 to 128 characters of A-Z a-z 0-9 . _ : / + = -",
    }),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    changes: AuditChangesSchema.optional(),
  })
  .meta({ id: "AuditEvent" });

export type AuditEvent = z.infer<typeof AuditEventSchema>;
export type AuditChanges = z.infer<typeof AuditChangesSchema>;

/**
 * Before/after of each field an update sent that differs from what the row held: what an
 * `*.updated` event records (fields not sent are not changes).
 */
export function changesOf(
  before: Partial<Record<AuditedField, string | null>>,
  sent: Partial<Record<AuditedField, string | null | undefined>>,
): AuditChanges {
  const changes: AuditChanges = {};
  for (const [field, after] of Object.entries(sent) as [
    AuditedField,
    string | null | undefined,
  ][]) {
    if (after === undefined || before[field] === after) continue;
    changes[field] = { before: before[field] ?? null, after };
  }
  return changes;
}

type AuditedField = (typeof AUDITED_FIELDS)[number];
