import type { SignedParts } from "../../src/verify";

/**
 * What the verifier answers for a header-signed request that signed every header it carries:
 * the payload hash from x-amz-content-sha256 and the x-amz-checksum-* headers' values.
 */
export function allSigned(headers: Headers): SignedParts {
  const checksums: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (name.startsWith("x-amz-checksum-")) checksums[name] = value;
  }
  return {
    payloadHash: headers.get("x-amz-content-sha256") ?? "UNSIGNED-PAYLOAD",
    signedHeaders: ["host", ...headers.keys()],
    checksums,
  };
}
