import { ApiError } from "../http/error";

/** What a base URL is judged against: the service's own host, and whether this is development. */
export interface BaseUrlContext {
  /** The host (name[:port]) the request reached; a provider there would call the service itself. */
  ownHost: string;
  /** AI_PROVIDER_ALLOW_LOOPBACK is "true": http://127.0.0.1:<port> and localhost are accepted. */
  allowLoopback: boolean;
}

/** Worded as the body's other validation failures are (src/http/validation-error.ts). */
const refused = (message: string) =>
  new ApiError("VALIDATION_FAILED", `Invalid request body. baseUrl: ${message}`, [
    { path: "baseUrl", message },
  ]);

/** An IPv4 literal's 4 bytes (the URL parser already turned 0x7f.1 and 2130706433 into dotted form). */
function ipv4Bytes(host: string): number[] | undefined {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part))) return undefined;
  return parts.map(Number);
}

/** Addresses no provider is at: this machine, the private and shared ranges, link-local, reserved. */
function isNonPublicIpv4([a, b]: number[]): boolean {
  return (
    a === 0 || // "this network"
    a === 10 ||
    a === 127 ||
    (a === 100 && (b as number) >= 64 && (b as number) <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local, cloud metadata services
    (a === 172 && (b as number) >= 16 && (b as number) <= 31) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    (a as number) >= 224 // multicast and reserved
  );
}

/** An IPv6 literal's eight 16-bit groups; the URL parser has already compressed and lower-cased it. */
function ipv6Groups(host: string): number[] | undefined {
  if (!host.startsWith("[") || !host.endsWith("]")) return undefined;
  const text = host.slice(1, -1);
  const [head = "", tail] = text.split("::");
  const groups = (part: string) => (part ? part.split(":").map((g) => Number.parseInt(g, 16)) : []);
  const front = groups(head);
  const back = tail === undefined ? [] : groups(tail);
  const zeros = tail === undefined ? 0 : 8 - front.length - back.length;
  return [...front, ...Array<number>(zeros).fill(0), ...back];
}

function isNonPublicIpv6(groups: number[]): boolean {
  const [first = 0] = groups;
  const allZeroBefore = (n: number) => groups.slice(0, n).every((g) => g === 0);
  if (allZeroBefore(7) && (groups[7] === 0 || groups[7] === 1)) return true; // :: and ::1
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d): judged by the IPv4 inside.
  const mapped = allZeroBefore(5) && groups[5] === 0xffff;
  const nat64 = first === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0);
  if (mapped || nat64) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return isNonPublicIpv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  }
  return (
    (first & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xff00) === 0xff00 // multicast
  );
}

const isLocalhostName = (host: string) => host === "localhost" || host.endsWith(".localhost");

/** The loopback a developer's mock provider listens on: 127.0.0.1, [::1] or localhost, any port. */
const isLoopback = (host: string) => {
  const v4 = ipv4Bytes(host);
  return (v4 !== undefined && v4[0] === 127) || host === "[::1]" || isLocalhostName(host);
};

/**
 * A provider base URL the service may call, normalised (no trailing slash), or a 400 saying why
 * not: https only; never the service's own host (it would call itself with the repo's key), nor
 * a literal private, loopback, link-local or unique-local address, nor localhost. In development
 * (`allowLoopback`) http and https to loopback are accepted, for a local mock provider.
 * Host names are not resolved here: a deployed Worker's fetch cannot reach private networks.
 */
export function acceptedBaseUrl(text: string, { ownHost, allowLoopback }: BaseUrlContext): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refused("must be an absolute URL");
  }
  if (url.username || url.password) throw refused("must not contain a user name or password");
  if (url.search || url.hash) throw refused("must not have a query or fragment");
  // "host." is the same host as "host" (the root's dot): compared without it.
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  const loopbackAllowed = allowLoopback && isLoopback(host);
  if (url.protocol !== "https:" && !(loopbackAllowed && url.protocol === "http:")) {
    throw refused("must be an https URL");
  }
  // In development the service itself is on loopback too: only its own port is refused there.
  const own = new URL(`http://${ownHost}`);
  if (loopbackAllowed ? url.host === own.host : host === own.hostname.replace(/\.$/, "")) {
    throw refused("must not be this service's own host");
  }
  if (!loopbackAllowed) {
    if (isLocalhostName(host)) throw refused("must not be localhost");
    const v4 = ipv4Bytes(host);
    const v6 = v4 ? undefined : ipv6Groups(host);
    if ((v4 && isNonPublicIpv4(v4)) || (v6 && isNonPublicIpv6(v6))) {
      throw refused("must not be a private, loopback, link-local or reserved address");
    }
  }
  return url.href.replace(/\/+$/, "");
}

/** AI_PROVIDER_ALLOW_LOOPBACK as a switch: only the exact "true" turns it on. */
export const loopbackAllowed = (env: { AI_PROVIDER_ALLOW_LOOPBACK?: string }) =>
  env.AI_PROVIDER_ALLOW_LOOPBACK === "true";
