import { describe, expect, it } from "vitest";
import { BUCKET, gateway, headerSigned, presigned, send } from "./support/requests";

describe("the gateway's answers", () => {
  it("a refusal is S3's XML error with the verifier's S3 code, and an x-amz-request-id", async () => {
    const response = await send(headerSigned("GET", `/${BUCKET}/k`, { key: `WRITE.nobody` }));
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toBe("application/xml");
    const id = response.headers.get("x-amz-request-id");
    expect(id).toMatch(/^[0-9A-F]{16}$/);
    expect(await response.text()).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code>' +
        `<Message>No such access key id</Message><RequestId>${id}</RequestId></Error>`,
    );
  });

  it("an unsigned request is 403 AccessDenied, as on S3 (not AuthorizationHeaderMalformed)", async () => {
    const response = await gateway.fetch(`https://s3.example/${BUCKET}/k`);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("<Code>AccessDenied</Code>");
  });

  it("an unsigned x-amz-* header is 403 AccessDenied (the verifier's HEADERS_NOT_SIGNED)", async () => {
    const response = await send(
      presigned("PUT", `/${BUCKET}/k`, {
        headers: { "x-amz-meta-injected": "yes" },
        body: "x",
      }),
    );
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("<Code>AccessDenied</Code>");
  });

  it("a HEAD error has the status and no body", async () => {
    const response = await gateway.fetch(`https://s3.example/${BUCKET}/k`, { method: "HEAD" });
    expect(response.status).toBe(403);
    expect(await response.text()).toBe("");
  });

  it("an operation the gateway does not serve is 501 NotImplemented", async () => {
    const response = await gateway.fetch(`https://s3.example/${BUCKET}?website`);
    expect(response.status).toBe(501);
    expect(await response.text()).toContain("<Code>NotImplemented</Code>");
  });

  it("every answer, error or object, carries X-Content-Type-Options: nosniff", async () => {
    await send(headerSigned("PUT", `/${BUCKET}/sniffable`, { body: "<html>" }));
    for (const request of [
      headerSigned("GET", `/${BUCKET}/sniffable`),
      headerSigned("HEAD", `/${BUCKET}/sniffable`),
      headerSigned("GET", `/${BUCKET}/sniffable`, { headers: { range: "bytes=0-1" } }),
      headerSigned("GET", `/${BUCKET}/missing`),
      new Request(`https://s3.example/${BUCKET}/k`),
    ]) {
      const response = await send(request);
      await response.arrayBuffer();
      expect(response.headers.get("x-content-type-options"), request.url).toBe("nosniff");
    }
  });
});
