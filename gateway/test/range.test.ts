import { describe, expect, it } from "vitest";
import { contentRange, parseRange, resolveRange } from "../src/range";

const slice = (header: string, size: number) => {
  const range = parseRange(header);
  if (!range) return "whole";
  const resolved = resolveRange(range, size);
  return resolved ? contentRange(resolved, size) : "unsatisfiable";
};

describe("Range", () => {
  it("bytes=a-b, bytes=a- and bytes=-n select what S3 selects", () => {
    expect(slice("bytes=0-4", 10)).toBe("bytes 0-4/10");
    expect(slice("bytes=3-3", 10)).toBe("bytes 3-3/10");
    expect(slice("bytes=7-", 10)).toBe("bytes 7-9/10");
    expect(slice("bytes=-3", 10)).toBe("bytes 7-9/10");
  });

  it("an end past the object, or a suffix longer than it, is cut to the object", () => {
    expect(slice("bytes=8-100", 10)).toBe("bytes 8-9/10");
    expect(slice("bytes=-100", 10)).toBe("bytes 0-9/10");
  });

  it("a start at or past the end, a zero suffix, or any range of an empty object is unsatisfiable", () => {
    expect(slice("bytes=10-", 10)).toBe("unsatisfiable");
    expect(slice("bytes=10-20", 10)).toBe("unsatisfiable");
    expect(slice("bytes=-0", 10)).toBe("unsatisfiable");
    expect(slice("bytes=0-", 0)).toBe("unsatisfiable");
    expect(slice("bytes=-5", 0)).toBe("unsatisfiable");
  });

  it("what S3 ignores means the whole object: several ranges, other units, a reversed range, junk", () => {
    for (const header of ["bytes=0-1,3-4", "items=0-1", "bytes=5-2", "bytes=-", "bytes=a-b", ""]) {
      expect(slice(header, 10), header).toBe("whole");
    }
    expect(parseRange(null)).toBeUndefined();
  });
});
