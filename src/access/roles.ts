import * as z from "zod";

/** Workspace roles, weakest first: READ < WRITE < ADMIN. Storage keys carry the same levels. */
export const ROLES = ["READ", "WRITE", "ADMIN"] as const;
export type Role = (typeof ROLES)[number];

export const RoleSchema = z.enum(ROLES).meta({ examples: ["WRITE"] });

const RANK: Record<Role, number> = { READ: 1, WRITE: 2, ADMIN: 3 };

export function atLeast(role: Role, minimum: Role): boolean {
  return RANK[role] >= RANK[minimum];
}
