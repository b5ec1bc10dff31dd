import { insufficientPermissions } from "../http/error";
import { atLeast, ROLES, type Role } from "./roles";

/** The caller as a member of the workspace that owns the resource; undefined when not a member. */
export interface Member {
  userId: string;
  role: Role;
}

/** Nobody makes a key stronger than themselves. */
const mayCreateKeyOf = (m: Member, key: { accessType: Role }) =>
  atLeast(m.role, "WRITE") && atLeast(m.role, key.accessType);

/**
 * Every access rule of the API, in one table. Each rule receives the caller's membership in
 * the resource's workspace and, where the rule depends on it, the resource itself.
 */
const RULES = {
  "workspace.read": (m: Member) => atLeast(m.role, "READ"),
  "workspace.manageMembers": (m: Member) => m.role === "ADMIN",
  "workspace.readAudit": (m: Member) => m.role === "ADMIN",
  // What a secret found in public does to the workspace's keys (src/leaks).
  "workspace.manageLeakResponse": (m: Member) => m.role === "ADMIN",
  "repo.create": (m: Member) => atLeast(m.role, "WRITE"),
  "repo.read": (m: Member) => atLeast(m.role, "READ"),
  "repo.readAudit": (m: Member) => m.role === "ADMIN",
  "apikey.list": (m: Member) => atLeast(m.role, "READ"),
  "apikey.create": mayCreateKeyOf,
  // Temporary credentials from a key: whoever may create a key of its access level.
  "apikey.issueTemporaryCredentials": mayCreateKeyOf,
  // Nor raises one above themselves, nor changes one already stronger than they are.
  "apikey.update": (m: Member, key: { from: Role; to: Role }) =>
    atLeast(m.role, "WRITE") && atLeast(m.role, key.from) && atLeast(m.role, key.to),
  "apikey.delete": (m: Member, key: { createdBy: string }) =>
    m.role === "ADMIN" || key.createdBy === m.userId,
  "aiApikey.list": (m: Member) => atLeast(m.role, "READ"),
  "aiApikey.create": (m: Member) => atLeast(m.role, "WRITE"),
  "aiApikey.update": (m: Member) => atLeast(m.role, "WRITE"),
  "aiApikey.delete": (m: Member) => atLeast(m.role, "WRITE"),
  // A repo's provider keys (src/providers) pay for every AI key's calls: ADMIN sets and
  // removes them. Anyone who may read the repo sees which are configured (last 4 characters
  // only), so a key's owner can tell why the AI gateway refuses it.
  "aiProvider.list": (m: Member) => atLeast(m.role, "READ"),
  "aiProvider.manage": (m: Member) => m.role === "ADMIN",
} satisfies Record<string, (member: Member, resource: never) => boolean>;

export type Action = keyof typeof RULES;
type ResourceOf<A extends Action> = Parameters<(typeof RULES)[A]>[1];

/** May this member do this (to this resource)? Non-members may do nothing. */
export function may<A extends Action>(
  member: Member | undefined,
  action: A,
  ...resource: ResourceOf<A> extends undefined ? [] : [ResourceOf<A>]
): member is Member {
  if (!member) return false;
  const rule = RULES[action] as (member: Member, resource: unknown) => boolean;
  return rule(member, resource[0]);
}

/** Throws 403 "Insufficient permissions" unless `may` allows it. */
export function authorize<A extends Action>(
  member: Member | undefined,
  action: A,
  ...resource: ResourceOf<A> extends undefined ? [] : [ResourceOf<A>]
): asserts member is Member {
  if (!may(member, action, ...resource)) throw insufficientPermissions();
}

/** What a rule may look at besides the role: the resource, and who the caller is. */
type RoleContext<A extends Action> = { userId?: string } & (ResourceOf<A> extends undefined
  ? { resource?: undefined }
  : { resource: ResourceOf<A> });

/**
 * The roles whose members may do `action` (to `resource`, as `userId`), read off the rules
 * above: what a write re-checks in SQL, so a role changed while the request was in flight
 * counts, without restating the rule.
 */
export function rolesThatMay<A extends Action>(action: A, ...[context]: ContextArgs<A>): Role[] {
  const rule = RULES[action] as (member: Member, resource: unknown) => boolean;
  const userId = context?.userId ?? "";
  return ROLES.filter((role) => rule({ userId, role }, context?.resource));
}

type ContextArgs<A extends Action> =
  ResourceOf<A> extends undefined ? [RoleContext<A>?] : [RoleContext<A>];

/** One rule applied to one request: checked now against the caller, and again by the write. */
export interface Permission {
  /** The roles the rule admits here: what the write re-checks in SQL (`holdsRole`). */
  readonly roles: Role[];
  /** Throws 403 "Insufficient permissions" unless `member` may; returns the member. */
  check<M extends Member>(member: M | undefined): M;
}

/** `action` (to `resource`, by `userId`, the caller) as a Permission. */
export function permissionTo<A extends Action>(action: A, ...args: ContextArgs<A>): Permission {
  const rule = RULES[action] as (member: Member, resource: unknown) => boolean;
  const resource = args[0]?.resource;
  return {
    roles: rolesThatMay(action, ...args),
    check(member) {
      if (!member || !rule(member, resource)) throw insufficientPermissions();
      return member;
    },
  };
}
