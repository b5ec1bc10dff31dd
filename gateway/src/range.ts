/**
 * The `Range` header of GetObject and HeadObject, as S3 reads it: one range of bytes
 * (`bytes=a-b`, `bytes=a-`, `bytes=-n`). A header S3 would ignore (another unit, several
 * ranges, bad syntax) means the whole object.
 */

export type ByteRange =
  | { kind: "from"; start: number; end?: number }
  | { kind: "suffix"; length: number };

export function parseRange(header: string | null): ByteRange | undefined {
  if (header === null) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return undefined;
  const [, first = "", last = ""] = m;
  if (first === "" && last === "") return undefined;
  if (first === "") return { kind: "suffix", length: Number(last) };
  const start = Number(first);
  if (last === "") return { kind: "from", start };
  const end = Number(last);
  // "bytes=5-2" is not a range: S3 answers the whole object.
  return end < start ? undefined : { kind: "from", start, end };
}

/** Where a range falls in an object of `size` bytes; undefined when nothing of it does. */
export function resolveRange(
  range: ByteRange,
  size: number,
): { offset: number; length: number } | undefined {
  if (range.kind === "suffix") {
    if (range.length === 0 || size === 0) return undefined;
    const length = Math.min(range.length, size);
    return { offset: size - length, length };
  }
  if (range.start >= size) return undefined;
  const end = Math.min(range.end ?? size - 1, size - 1);
  return { offset: range.start, length: end - range.start + 1 };
}

export const contentRange = (
  { offset, length }: { offset: number; length: number },
  size: number,
) => `bytes ${offset}-${offset + length - 1}/${size}`;
