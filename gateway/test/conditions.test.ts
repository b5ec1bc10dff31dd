import { describe, expect, it } from "vitest";
import { precondition } from "../src/conditions";

const etag = "0123456789abcdef0123456789abcdef";
const uploaded = new Date("2026-03-01T12:00:00.500Z");
const decide = (headers: Record<string, string>) =>
  precondition(new Headers(headers), etag, uploaded);

describe("conditional reads", () => {
  it("If-Match: the object's ETag (quoted or not, in a list, or *) proceeds; another fails", () => {
    expect(decide({ "If-Match": `"${etag}"` })).toBe("proceed");
    expect(decide({ "If-Match": `"other", "${etag}"` })).toBe("proceed");
    expect(decide({ "If-Match": "*" })).toBe("proceed");
    expect(decide({ "If-Match": '"other"' })).toBe("failed");
  });

  it("If-None-Match: the object's ETag is not modified (304); another proceeds", () => {
    expect(decide({ "If-None-Match": `"${etag}"` })).toBe("not-modified");
    expect(decide({ "If-None-Match": `W/"${etag}"` })).toBe("not-modified");
    expect(decide({ "If-None-Match": '"other"' })).toBe("proceed");
  });

  it("dates compare in whole seconds", () => {
    const same = "Sun, 01 Mar 2026 12:00:00 GMT";
    const before = "Sun, 01 Mar 2026 11:59:59 GMT";
    expect(decide({ "If-Modified-Since": same })).toBe("not-modified");
    expect(decide({ "If-Modified-Since": before })).toBe("proceed");
    expect(decide({ "If-Unmodified-Since": same })).toBe("proceed");
    expect(decide({ "If-Unmodified-Since": before })).toBe("failed");
    expect(decide({ "If-Modified-Since": "not a date" })).toBe("proceed");
  });

  it("as S3: If-Match true wins over If-Unmodified-Since false; If-None-Match false over If-Modified-Since true", () => {
    const before = "Sun, 01 Mar 2026 11:59:59 GMT";
    const after = "Sun, 01 Mar 2026 12:30:00 GMT";
    expect(decide({ "If-Match": etag, "If-Unmodified-Since": before })).toBe("proceed");
    expect(decide({ "If-None-Match": '"other"', "If-Modified-Since": after })).toBe("proceed");
    expect(decide({ "If-Match": '"other"', "If-None-Match": etag })).toBe("failed");
  });
});
