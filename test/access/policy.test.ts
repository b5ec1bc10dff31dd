import { describe, expect, it } from "vitest";
import {
  type Action,
  authorize,
  type Member,
  may,
  permissionTo,
  rolesThatMay,
} from "../../src/access/policy";
import { ROLES, type Role } from "../../src/access/roles";
import { ApiError } from "../../src/http/error";

const as = (role: Role, userId = `${role.toLowerCase()}-user`): Member => ({ userId, role });

/** The roles for which `allowed` answers true, weakest first. */
const rolesAllowed = (allowed: (member: Member) => boolean) =>
  ROLES.filter((role) => allowed(as(role)));

describe("actions that need only a role", () => {
  const table: [Action, Role[]][] = [
    ["workspace.read", ["READ", "WRITE", "ADMIN"]],
    ["workspace.manageMembers", ["ADMIN"]],
    ["workspace.readAudit", ["ADMIN"]],
    ["repo.create", ["WRITE", "ADMIN"]],
    ["repo.read", ["READ", "WRITE", "ADMIN"]],
    ["repo.readAudit", ["ADMIN"]],
    ["apikey.list", ["READ", "WRITE", "ADMIN"]],
    ["aiApikey.list", ["READ", "WRITE", "ADMIN"]],
    ["aiApikey.create", ["WRITE", "ADMIN"]],
    ["aiApikey.update", ["WRITE", "ADMIN"]],
    ["aiApikey.delete", ["WRITE", "ADMIN"]],
  ];

  for (const [action, expected] of table) {
    it(`${action} is allowed to ${expected.join(", ")} only`, () => {
      // These actions take no resource; the cast only lets one loop cover them all.
      const check = may as unknown as (member: Member | undefined, action: Action) => boolean;
      expect(rolesAllowed((member) => check(member, action))).toEqual(expected);
      expect(check(undefined, action)).toBe(false);
    });
  }
});

describe("creating a storage key", () => {
  it("lets a member create keys up to their own role, and READ members none", () => {
    const allowed = (role: Role) =>
      ROLES.filter((accessType) => may(as(role), "apikey.create", { accessType }));
    expect(allowed("READ")).toEqual([]);
    expect(allowed("WRITE")).toEqual(["READ", "WRITE"]);
    expect(allowed("ADMIN")).toEqual(["READ", "WRITE", "ADMIN"]);
  });
});

describe("issuing temporary credentials from a storage key", () => {
  it("is allowed to whoever may create a key of the parent's access level", () => {
    const allowed = (role: Role) =>
      ROLES.filter((accessType) =>
        may(as(role), "apikey.issueTemporaryCredentials", { accessType }),
      );
    expect(allowed("READ")).toEqual([]);
    expect(allowed("WRITE")).toEqual(["READ", "WRITE"]);
    expect(allowed("ADMIN")).toEqual(["READ", "WRITE", "ADMIN"]);
    expect(may(undefined, "apikey.issueTemporaryCredentials", { accessType: "READ" })).toBe(false);
  });
});

describe("updating a storage key", () => {
  const changes = ROLES.flatMap((from) => ROLES.map((to) => ({ from, to })));
  const allowed = (role: Role) =>
    changes
      .filter((change) => may(as(role), "apikey.update", change))
      .map(({ from, to }) => `${from}->${to}`);

  it("is refused to READ members, whatever the change", () => {
    expect(allowed("READ")).toEqual([]);
  });

  it("lets WRITE members change READ and WRITE keys among themselves only", () => {
    expect(allowed("WRITE")).toEqual(["READ->READ", "READ->WRITE", "WRITE->READ", "WRITE->WRITE"]);
  });

  it("does not let WRITE members raise a key to ADMIN, nor touch an ADMIN key", () => {
    expect(may(as("WRITE"), "apikey.update", { from: "WRITE", to: "ADMIN" })).toBe(false);
    expect(may(as("WRITE"), "apikey.update", { from: "READ", to: "ADMIN" })).toBe(false);
    expect(may(as("WRITE"), "apikey.update", { from: "ADMIN", to: "ADMIN" })).toBe(false);
    expect(may(as("WRITE"), "apikey.update", { from: "ADMIN", to: "READ" })).toBe(false);
  });

  it("lets ADMIN members make any change", () => {
    expect(allowed("ADMIN")).toHaveLength(9);
  });
});

describe("deleting a storage key", () => {
  it("is allowed to an ADMIN, whoever created the key", () => {
    expect(may(as("ADMIN", "boss"), "apikey.delete", { createdBy: "someone-else" })).toBe(true);
  });

  it("is allowed to the key's creator, whatever their role now", () => {
    for (const role of ROLES) {
      expect(may(as(role, "maker"), "apikey.delete", { createdBy: "maker" })).toBe(true);
    }
  });

  it("is refused to WRITE and READ members who did not create the key", () => {
    for (const role of ["READ", "WRITE"] as const) {
      expect(may(as(role, "bystander"), "apikey.delete", { createdBy: "maker" })).toBe(false);
    }
  });
});

describe("non-members", () => {
  it("may do nothing, even to a key whose creator id they carry", () => {
    expect(may(undefined, "apikey.create", { accessType: "READ" })).toBe(false);
    expect(may(undefined, "apikey.update", { from: "READ", to: "READ" })).toBe(false);
    expect(may(undefined, "apikey.delete", { createdBy: "anyone" })).toBe(false);
    expect(may(undefined, "repo.read")).toBe(false);
    expect(may(undefined, "workspace.read")).toBe(false);
  });
});

describe("authorize", () => {
  it("returns quietly when the action is allowed", () => {
    expect(() => authorize(as("ADMIN"), "workspace.manageMembers")).not.toThrow();
    expect(() => authorize(as("WRITE"), "apikey.create", { accessType: "WRITE" })).not.toThrow();
  });

  it("throws the 403 'Insufficient permissions' error when it is not", () => {
    const refusals = [
      () => authorize(undefined, "repo.read"),
      () => authorize(as("READ"), "repo.create"),
      () => authorize(as("WRITE"), "apikey.create", { accessType: "ADMIN" }),
      () => authorize(as("WRITE", "w"), "apikey.delete", { createdBy: "someone-else" }),
    ];
    for (const refuse of refusals) {
      let thrown: unknown;
      try {
        refuse();
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ApiError);
      expect(thrown).toMatchObject({
        status: 403,
        code: "FORBIDDEN",
        message: "Insufficient permissions",
      });
    }
  });
});

describe("rolesThatMay", () => {
  it("reads the roles a write must re-check off the same rules", () => {
    expect(rolesThatMay("workspace.manageMembers")).toEqual(["ADMIN"]);
    expect(rolesThatMay("repo.create")).toEqual(["WRITE", "ADMIN"]);
    expect(rolesThatMay("repo.read")).toEqual(["READ", "WRITE", "ADMIN"]);
  });

  it("applies rules that depend on the resource: who may create a key of each access level", () => {
    const creating = (accessType: "READ" | "WRITE" | "ADMIN") =>
      rolesThatMay("apikey.create", { resource: { accessType } });
    expect(creating("READ")).toEqual(["WRITE", "ADMIN"]);
    expect(creating("WRITE")).toEqual(["WRITE", "ADMIN"]);
    expect(creating("ADMIN")).toEqual(["ADMIN"]);
    expect(rolesThatMay("aiApikey.create")).toEqual(["WRITE", "ADMIN"]);
    expect(rolesThatMay("apikey.update", { resource: { from: "READ", to: "WRITE" } })).toEqual([
      "WRITE",
      "ADMIN",
    ]);
  });

  it("applies rules that depend on who the caller is: a key's creator may always delete it", () => {
    const resource = { createdBy: "alice" };
    expect(rolesThatMay("apikey.delete", { resource, userId: "alice" })).toEqual([
      "READ",
      "WRITE",
      "ADMIN",
    ]);
    expect(rolesThatMay("apikey.delete", { resource, userId: "bob" })).toEqual(["ADMIN"]);
  });
});

describe("permissionTo", () => {
  it("checks a member now and gives the write the same rule's roles", () => {
    const create = permissionTo("apikey.create", { resource: { accessType: "ADMIN" } });
    expect(create.roles).toEqual(["ADMIN"]);
    const admin = { userId: "a", role: "ADMIN" as const };
    expect(create.check(admin)).toBe(admin);
    expect(() => create.check({ userId: "w", role: "WRITE" })).toThrow("Insufficient permissions");
    expect(() => create.check(undefined)).toThrow("Insufficient permissions");
  });

  it("judges the caller it names: a key's creator may delete it, others need ADMIN", () => {
    const byCreator = permissionTo("apikey.delete", {
      resource: { createdBy: "alice" },
      userId: "alice",
    });
    expect(byCreator.roles).toEqual(["READ", "WRITE", "ADMIN"]);
    expect(byCreator.check({ userId: "alice", role: "READ" }).userId).toBe("alice");
    const byOther = permissionTo("apikey.delete", {
      resource: { createdBy: "alice" },
      userId: "bob",
    });
    expect(byOther.roles).toEqual(["ADMIN"]);
    expect(() => byOther.check({ userId: "bob", role: "WRITE" })).toThrow();
  });
});
