import { describe, expect, it } from "vitest";
import { FlashgateError } from "../../client/src/error";
import { clientFor } from "../client/support";
import { team } from "../support/api";
import { providerKey } from "./support";

describe("client.aiProviders", () => {
  it("sets, lists and removes a provider key, never receiving the key back", async () => {
    const { admin, reader, repoId } = await team();
    const { client, sent } = await clientFor(admin);
    const apiKey = providerKey();

    const set = await client.aiProviders.set(repoId, "ANTHROPIC", { apiKey });
    expect(set).toMatchObject({
      success: true,
      aiType: "ANTHROPIC",
      apiKeyLast4: apiKey.slice(-4),
    });
    expect(sent.at(-1)).toMatchObject({ method: "PUT" });
    expect(sent.at(-1)?.url).toMatch(new RegExp(`/repo/${repoId}/ai/provider/ANTHROPIC$`));

    const { client: readerClient } = await clientFor(reader);
    const listed = await readerClient.aiProviders.list(repoId);
    expect(listed.providers.map((p) => p.aiType)).toEqual(["ANTHROPIC"]);
    expect(JSON.stringify(listed)).not.toContain(apiKey);

    await expect(readerClient.aiProviders.remove(repoId, "ANTHROPIC")).rejects.toBeInstanceOf(
      FlashgateError,
    );
    expect(await client.aiProviders.remove(repoId, "ANTHROPIC")).toBeUndefined();
    expect((await client.aiProviders.list(repoId)).providers).toEqual([]);
    const missing = await client.aiProviders.remove(repoId, "ANTHROPIC").catch((e) => e);
    expect(missing).toBeInstanceOf(FlashgateError);
    expect((missing as FlashgateError).status).toBe(404);
  });
});
