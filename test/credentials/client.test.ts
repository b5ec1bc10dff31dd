import { describe, expect, it } from "vitest";
import { FlashgateError } from "../../client/src/index.ts";
import { clientFor } from "../client/support";
import { team } from "../support/api";
import { createStorageKey } from "../support/keys";
import { verifyS3Http } from "../verify/support";
import { signedWithToken } from "./support";

describe("client.apiKeys.temporaryCredentials", () => {
  it("issues credentials that verify, sending the body as given", async () => {
    const { admin, repoId } = await team();
    const parent = await createStorageKey(admin, repoId, { accessType: "WRITE" });
    const { client, sent } = await clientFor(admin);
    const issued = await client.apiKeys.temporaryCredentials(repoId, parent.id, {
      permission: "WRITE",
      prefixes: ["uploads/7/"],
      ttlSeconds: 300,
    });
    expect(sent.at(-1)?.url).toBe(
      `https://flashgate.test/repo/${repoId}/apikey/${parent.id}/temporary-credentials`,
    );
    expect(JSON.parse(sent.at(-1)?.body ?? "null")).toEqual({
      permission: "WRITE",
      prefixes: ["uploads/7/"],
      ttlSeconds: 300,
    });
    expect(issued).toMatchObject({
      success: true,
      accessKeyId: expect.stringMatching(/^FBTK/),
      permission: "WRITE",
      prefixes: ["uploads/7/"],
      objects: [],
      parentKeyId: parent.id,
    });
    const input = await signedWithToken(issued, { method: "PUT", path: `/${repoId}/uploads/7/a` });
    expect((await verifyS3Http(input)).body).toMatchObject({ code: "VALID" });
  });

  it("rejects with a FlashgateError carrying the API's code", async () => {
    const { admin, repoId } = await team();
    const parent = await createStorageKey(admin, repoId, { accessType: "READ" });
    const { client } = await clientFor(admin);
    const refused = client.apiKeys.temporaryCredentials(repoId, parent.id, { permission: "WRITE" });
    await expect(refused).rejects.toBeInstanceOf(FlashgateError);
    await expect(refused).rejects.toMatchObject({ status: 400, code: "BAD_REQUEST" });
  });
});
