import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

/** The gateway Worker itself; its KeyVerifier here refuses everything (vitest.config.ts). */
const gateway = (exports as unknown as { default: Fetcher }).default;
const bucket = "0b5a3c2e-1111-4222-8333-444455556666";

describe("the gateway's answers", () => {
  it("a refusal is S3's XML error with the verifier's S3 code, and an x-amz-request-id", async () => {
    const response = await gateway.fetch(`https://s3.example/${bucket}/k`);
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toBe("application/xml");
    const id = response.headers.get("x-amz-request-id");
    expect(id).toMatch(/^[0-9A-F]{16}$/);
    expect(await response.text()).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code>' +
        `<Message>No such access key id</Message><RequestId>${id}</RequestId></Error>`,
    );
  });

  it("a HEAD error has the status and no body", async () => {
    const response = await gateway.fetch(`https://s3.example/${bucket}/k`, { method: "HEAD" });
    expect(response.status).toBe(403);
    expect(await response.text()).toBe("");
  });

  it("an operation the gateway does not serve is 501 NotImplemented", async () => {
    const response = await gateway.fetch("https://s3.example/");
    expect(response.status).toBe(501);
    expect(await response.text()).toContain("<Code>NotImplemented</Code>");
  });
});
