import { describe, expect, it } from "vitest";
import { routeOf } from "../src/route";

const bucket = "0b5a3c2e-1111-4222-8333-444455556666";
const route = (method: string, pathAndQuery: string, headers: Record<string, string> = {}) =>
  routeOf(method, new URL(`https://s3.example${pathAndQuery}`), new Headers(headers));
const operation = (method: string, pathAndQuery: string) => route(method, pathAndQuery).operation;

describe("routing", () => {
  it("names each served operation, with the access it needs", () => {
    expect(route("GET", `/${bucket}/?list-type=2&prefix=a%2F`)).toMatchObject({
      operation: "ListObjectsV2",
      key: "",
      access: "READ",
    });
    expect(operation("HEAD", `/${bucket}`)).toBe("HeadBucket");
    expect(route("GET", "/")).toMatchObject({ operation: "ListBuckets", access: "READ" });
    expect(route("PUT", `/${bucket}`)).toMatchObject({
      operation: "CreateBucket",
      access: "WRITE",
    });
    expect(route("POST", `/${bucket}?delete`)).toMatchObject({
      operation: "DeleteObjects",
      access: "WRITE",
    });
    expect(operation("GET", `/${bucket}?location`)).toBe("GetBucketLocation");
    expect(operation("GET", `/${bucket}?versioning`)).toBe("GetBucketVersioning");
    expect(route("GET", `/${bucket}/k?tagging`)).toMatchObject({
      operation: "GetObjectTagging",
      access: "READ",
    });
    expect(route("GET", `/${bucket}?delimiter=%2F&marker=a&max-keys=2`)).toMatchObject({
      operation: "ListObjects",
      access: "READ",
    });
    expect(route("GET", `/${bucket}/photos/cat%20caf%C3%A9%2B1.jpg?x-id=GetObject`)).toMatchObject({
      operation: "GetObject",
      key: "photos/cat café+1.jpg",
      access: "READ",
    });
    expect(operation("HEAD", `/${bucket}/k`)).toBe("HeadObject");
    expect(route("PUT", `/${bucket}/k?x-id=PutObject`)).toMatchObject({
      operation: "PutObject",
      access: "WRITE",
    });
    expect(operation("DELETE", `/${bucket}/k`)).toBe("DeleteObject");
    expect(operation("POST", `/${bucket}/k?uploads`)).toBe("CreateMultipartUpload");
    expect(operation("PUT", `/${bucket}/k?partNumber=1&uploadId=u`)).toBe("UploadPart");
    expect(operation("POST", `/${bucket}/k?uploadId=u`)).toBe("CompleteMultipartUpload");
    expect(operation("DELETE", `/${bucket}/k?uploadId=u`)).toBe("AbortMultipartUpload");
  });

  it("accepts a presigned URL's parameters and the headers the SDK hoists into it", () => {
    const query =
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab&x-amz-checksum-crc32=AAAAAA%3D%3D&x-id=PutObject";
    expect(operation("PUT", `/${bucket}/k?${query}`)).toBe("PutObject");
    expect(operation("GET", `/${bucket}/k?response-content-type=text%2Fplain`)).toBe("GetObject");
  });

  it.each([
    ["PUT", "/"],
    ["GET", `/${bucket}?website`],
    ["PUT", `/${bucket}?acl`],
    ["GET", `/${bucket}?list-type=2&versions`],
    ["PUT", `/${bucket}/k?acl`],
    ["GET", `/${bucket}/k?versionId=3`],
    ["GET", `/${bucket}/k?partNumber=1`],
    ["PUT", `/${bucket}/k?tagging`],
    ["POST", `/${bucket}`],
    ["POST", `/${bucket}/k`],
    ["PATCH", `/${bucket}/k`],
  ])("%s %s is NotImplemented", (method, path) => {
    expect(() => route(method, path)).toThrow(expect.objectContaining({ code: "NotImplemented" }));
  });

  it("a PUT with x-amz-copy-source is a copy, needing WRITE; no other operation copies", () => {
    const source = { "x-amz-copy-source": `/${bucket}/j` };
    expect(route("PUT", `/${bucket}/k`, source)).toMatchObject({
      operation: "CopyObject",
      access: "WRITE",
    });
    expect(route("PUT", `/${bucket}/k?partNumber=2&uploadId=u`, source)).toMatchObject({
      operation: "UploadPartCopy",
      access: "WRITE",
    });
    expect(() => route("POST", `/${bucket}/k?uploads`, source)).toThrow(
      expect.objectContaining({ code: "NotImplemented" }),
    );
    expect(() => route("PUT", `/${bucket}/a%00b`, source)).toThrow(
      expect.objectContaining({ code: "InvalidArgument" }),
    );
  });

  it("a conditional write is NotImplemented rather than done unconditionally", () => {
    for (const header of ["If-None-Match", "If-Match"]) {
      expect(() => route("PUT", `/${bucket}/k`, { [header]: "*" })).toThrow(
        expect.objectContaining({ code: "NotImplemented" }),
      );
    }
    expect(route("GET", `/${bucket}/k`, { "If-None-Match": '"x"' }).operation).toBe("GetObject");
  });

  it("a bucket that is not a lower-case UUID is NoSuchBucket", () => {
    for (const name of ["photos", bucket.toUpperCase(), `${bucket}x`]) {
      expect(() => route("GET", `/${name}/k`), name).toThrow(
        expect.objectContaining({ code: "NoSuchBucket", status: 404 }),
      );
    }
  });

  it("a malformed percent-encoding is InvalidURI; a key over 987 bytes is KeyTooLongError", () => {
    expect(() => route("GET", `/${bucket}/%E0%A4%A`)).toThrow(
      expect.objectContaining({ code: "InvalidURI" }),
    );
    expect(() => route("GET", `/${bucket}/${"k".repeat(988)}`)).toThrow(
      expect.objectContaining({ code: "KeyTooLongError" }),
    );
    expect(route("GET", `/${bucket}/${"k".repeat(987)}`).key).toHaveLength(987);
  });

  it("a key with a character XML 1.0 cannot carry is refused for writes, not for reads", () => {
    for (const [method, query] of [
      ["PUT", ""],
      ["POST", "?uploads"],
      ["PUT", "?partNumber=1&uploadId=u"],
      ["POST", "?uploadId=u"],
    ]) {
      expect(() => route(method as string, `/${bucket}/a%00b${query}`)).toThrow(
        expect.objectContaining({ code: "InvalidArgument", status: 400 }),
      );
    }
    expect(operation("GET", `/${bucket}/a%00b`)).toBe("GetObject");
    expect(operation("DELETE", `/${bucket}/a%00b`)).toBe("DeleteObject");
    expect(operation("DELETE", `/${bucket}/a%00b?uploadId=u`)).toBe("AbortMultipartUpload");
  });
});
