import { beforeAll, describe, expect, it } from "vitest";
import { type ApiResponse, call, expectError, team } from "../support/api";
import { allKeyRows, createStorageKey } from "../support/keys";

let admin: string;
let repoId: string;
let keyId: string;

beforeAll(async () => {
  ({ admin, repoId } = await team());
  ({ id: keyId } = await createStorageKey(admin, repoId, { name: "existing", accessType: "READ" }));
});

/** Sends the request and asserts a JSON 400 that changed no key row anywhere. */
async function expectRefusedWithoutWriting(send: () => Promise<ApiResponse>, status = 400) {
  const before = await allKeyRows("storage_keys");
  const response = await send();
  expectError(response, status);
  expect(await allKeyRows("storage_keys")).toEqual(before);
  return response;
}

const create = (body: unknown, headers?: Record<string, string>) =>
  call("POST", `/repo/${repoId}/apikey`, { as: admin, body, headers });
const update = (body: unknown, headers?: Record<string, string>) =>
  call("PUT", `/repo/${repoId}/apikey/${keyId}`, { as: admin, body, headers });

/** A create needs both; an update needs at least one field (refused as `{}` below). */
const missingFields: [string, unknown][] = [
  ["a missing accessType", { name: "k" }],
  ["a missing name", { accessType: "READ" }],
];

const invalidBodies: [string, unknown][] = [
  ["an unknown accessType", { name: "k", accessType: "OWNER" }],
  ["a lower-case accessType", { name: "k", accessType: "read" }],
  ["no field at all", {}],
  [
    "an expiry without a time zone",
    { name: "k", accessType: "READ", expiresAt: "2030-01-01T00:00:00" },
  ],
  ["an expiry in the past", { name: "k", accessType: "READ", expiresAt: "2020-01-01T00:00:00Z" }],
  ["an expiry 11 years out", { name: "k", accessType: "READ", expiresAt: "2037-12-31T00:00:00Z" }],
  ["an expiry that is not a date", { name: "k", accessType: "READ", expiresAt: "soon" }],
  ["an unknown status", { name: "k", accessType: "READ", status: "PAUSED" }],
  ["an empty name", { name: "", accessType: "READ" }],
  ["a blank name", { name: "   ", accessType: "READ" }],
  ["a 129-character name", { name: "n".repeat(129), accessType: "READ" }],
  ["a name that is not a string", { name: 42, accessType: "READ" }],
  ["a name with a control character", { name: "bad\u0000name", accessType: "READ" }],
  ["an extra field", { name: "k", accessType: "READ", secret: "chosen-by-me" }],
  ["a JSON array", [{ name: "k", accessType: "READ" }]],
  ["JSON null", null],
  ["a JSON string", "just text"],
];

describe("creating a storage key with bad input", () => {
  for (const [what, body] of [...missingFields, ...invalidBodies]) {
    it(`refuses ${what} with 400`, async () => {
      await expectRefusedWithoutWriting(() => create(JSON.stringify(body)));
    });
  }

  it("accepts a 128-character name, the longest allowed", async () => {
    const response = await create({ name: "n".repeat(128), accessType: "READ" });
    expect(response.status, response.text).toBe(200);
  });

  it("refuses a body repoId that differs from the path", async () => {
    const response = await expectRefusedWithoutWriting(() =>
      create({ repoId: crypto.randomUUID(), name: "k", accessType: "READ" }),
    );
    expect(response.body.message).toMatch(/repoId/);
  });

  it("refuses a body repoId that is not a UUID", async () => {
    await expectRefusedWithoutWriting(() =>
      create({ repoId: "not-a-uuid", name: "k", accessType: "READ" }),
    );
  });

  it("refuses a body that is not JSON with 400", async () => {
    await expectRefusedWithoutWriting(() => create('{"name": "k", "accessType": '));
  });

  it("refuses a body sent as another media type with 415", async () => {
    await expectRefusedWithoutWriting(
      () =>
        create("name=k&accessType=READ", { "Content-Type": "application/x-www-form-urlencoded" }),
      415,
    );
  });

  it("refuses a request without a body with 400", async () => {
    await expectRefusedWithoutWriting(() => call("POST", `/repo/${repoId}/apikey`, { as: admin }));
  });
});

describe("updating a storage key with bad input", () => {
  for (const [what, body] of invalidBodies) {
    it(`refuses ${what} with 400`, async () => {
      await expectRefusedWithoutWriting(() => update(JSON.stringify(body)));
    });
  }

  it("refuses a body that is not JSON with 400", async () => {
    await expectRefusedWithoutWriting(() => update("not json"));
  });
});

describe("garbage ids in the path", () => {
  const garbage = ["not-a-uuid", "1", "' OR 1=1 --", "%00", "00000000-0000-0000-0000-00000000000g"];

  for (const id of garbage) {
    it(`are refused as JSON errors, not 500: repoId ${JSON.stringify(id)}`, async () => {
      const repo = encodeURIComponent(id);
      const body = { name: "k", accessType: "READ" };
      await expectRefusedWithoutWriting(() => call("GET", `/repo/${repo}/apikey`, { as: admin }));
      await expectRefusedWithoutWriting(() =>
        call("POST", `/repo/${repo}/apikey`, { as: admin, body }),
      );
      await expectRefusedWithoutWriting(() =>
        call("PUT", `/repo/${repo}/apikey/${keyId}`, { as: admin, body }),
      );
      await expectRefusedWithoutWriting(() =>
        call("DELETE", `/repo/${repo}/apikey/${keyId}`, { as: admin }),
      );
    });

    it(`are refused as JSON errors, not 500: apikeyId ${JSON.stringify(id)}`, async () => {
      const key = encodeURIComponent(id);
      await expectRefusedWithoutWriting(() =>
        call("PUT", `/repo/${repoId}/apikey/${key}`, {
          as: admin,
          body: { name: "k", accessType: "READ" },
        }),
      );
      await expectRefusedWithoutWriting(() =>
        call("DELETE", `/repo/${repoId}/apikey/${key}`, { as: admin }),
      );
    });
  }
});
