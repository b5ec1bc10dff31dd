/**
 * GetObject's and HeadObject's conditional headers, decided as S3 decides them (RFC 9110's
 * order): If-Match, else If-Unmodified-Since, can fail with 412; then If-None-Match, else
 * If-Modified-Since, can answer 304.
 */

export type Precondition = "proceed" | "not-modified" | "failed";

/** The ETags of an If-Match / If-None-Match list, unquoted; "*" stays "*". */
function etagsOf(header: string): string[] {
  return header
    .split(",")
    .map((tag) =>
      tag
        .trim()
        .replace(/^W\//, "")
        .replace(/^"(.*)"$/, "$1"),
    )
    .filter((tag) => tag !== "");
}

const matches = (header: string, etag: string) =>
  etagsOf(header).some((tag) => tag === "*" || tag === etag);

/** HTTP dates have whole seconds; an object modified within the same second is not "after". */
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

export function precondition(headers: Headers, etag: string, uploaded: Date): Precondition {
  const ifMatch = headers.get("If-Match");
  const ifUnmodifiedSince = Date.parse(headers.get("If-Unmodified-Since") ?? "");
  if (ifMatch !== null) {
    if (!matches(ifMatch, etag)) return "failed";
  } else if (!Number.isNaN(ifUnmodifiedSince) && seconds(uploaded) > ifUnmodifiedSince / 1000) {
    return "failed";
  }
  const ifNoneMatch = headers.get("If-None-Match");
  const ifModifiedSince = Date.parse(headers.get("If-Modified-Since") ?? "");
  if (ifNoneMatch !== null) {
    if (matches(ifNoneMatch, etag)) return "not-modified";
  } else if (!Number.isNaN(ifModifiedSince) && seconds(uploaded) <= ifModifiedSince / 1000) {
    return "not-modified";
  }
  return "proceed";
}

export const CONDITIONAL_HEADERS = [
  "If-Match",
  "If-None-Match",
  "If-Modified-Since",
  "If-Unmodified-Since",
];
