import { describe, expect, it } from "vitest";
import { team } from "../support/api";
import { createStorageKey } from "../support/keys";
import { clientFor } from "./support";

describe("client.usage", () => {
  it("reads a key's series, the repo's busiest keys and, for ADMINs, refusals naming no key", async () => {
    const t = await team();
    const key = await createStorageKey(t.admin, t.repoId);
    const { client } = await clientFor(t.reader);
    const series = await client.usage.storageKey(t.repoId, key.id, { granularity: "hour" });
    expect(series.granularity).toBe("hour");
    expect(series.totals).toEqual({ valid: 0, refused: {}, tokens: { input: 0, output: 0 } });
    expect((await client.usage.repo(t.repoId)).keys).toEqual([]);
    const { client: admin } = await clientFor(t.admin);
    expect((await admin.usage.unattributed(t.workspaceId)).success).toBe(true);
    await expect(client.usage.unattributed(t.workspaceId)).rejects.toMatchObject({ status: 403 });
  });
});
