import { execFile } from "node:child_process";
import { connect } from "node:net";
import { promisify } from "node:util";
import { gunzipSync, inflateSync } from "node:zlib";
import { expect, inject } from "vitest";
import { devToken } from "../../../scripts/dev-token.mjs";

/** Where `npm run dev` listens for this run (support/global-setup.ts). */
export const baseUrl = inject("baseUrl");
/** Where the S3 gateway listens for this run. */
export const gatewayUrl = inject("gatewayUrl");

/**
 * A development token for `userId`, as `npm run --silent token -- <userId>` prints it; with
 * `{ scope: "keys:verify" }` a gateway's, as `npm run --silent token -- --scope keys:verify <id>`.
 */
export const tokenFor = (
  userId: string,
  options: { scope?: string; claims?: Record<string, unknown> } = {},
): Promise<string> => devToken(userId, options);

/** Calls the API as the holder of `token` with a JSON body; the test fails unless it is a 2xx. */
export async function callApi(token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  expect(response.ok, `${method} ${path}: ${response.status} ${text}`).toBe(true);
  return JSON.parse(text);
}

let counter = 0;
/** A user id unique to this run. */
export const newUser = (label = "user") =>
  `${label}-${++counter}-${Math.random().toString(36).slice(2, 10)}`;

export interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The parsed JSON body, or undefined when there is none. */
  body: any;
}

function answer(status: number, headers: Record<string, string>, text: string): Answer {
  const isJson = headers["content-type"]?.includes("application/json") && text.length > 0;
  return { status, headers, text, body: isJson ? JSON.parse(text) : undefined };
}

/**
 * One request written byte for byte as given, over a fresh TCP connection: the exact head a
 * client sends (header order and all), then the body in the chunks given. No header is added
 * but Host and Connection: close.
 */
export function rawRequest(
  method: string,
  path: string,
  headers: [string, string][],
  body: (string | Uint8Array)[] = [],
): Promise<Answer> {
  const { hostname, port } = new URL(baseUrl);
  const head = [`${method} ${path} HTTP/1.1`, `Host: ${hostname}:${port}`];
  for (const [name, value] of headers) head.push(`${name}: ${value}`);
  head.push("Connection: close", "", "");
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(head.join("\r\n"));
      for (const part of body) socket.write(part);
    });
    const received: Buffer[] = [];
    socket.on("data", (chunk) => received.push(chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      try {
        resolve(parseResponse(Buffer.concat(received), { dechunk: true }));
      } catch (error) {
        reject(error);
      }
    });
  });
}

function parseResponse(bytes: Buffer, { dechunk }: { dechunk: boolean }): Answer {
  const split = bytes.indexOf("\r\n\r\n");
  const [statusLine = "", ...lines] = bytes.subarray(0, split).toString("latin1").split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let rest = bytes.subarray(split + 4);
  if (dechunk && headers["transfer-encoding"]?.includes("chunked")) {
    const parts: Buffer[] = [];
    for (;;) {
      const end = rest.indexOf("\r\n");
      const size = Number.parseInt(rest.subarray(0, end).toString("latin1"), 16);
      if (!size) break;
      parts.push(rest.subarray(end + 2, end + 2 + size));
      rest = rest.subarray(end + 2 + size + 2);
    }
    rest = Buffer.concat(parts);
  }
  // Clients that offer gzip (Python's requests does) get it from wrangler dev and the edge alike.
  // wrangler dev names the encoding on bodyless answers too (a 204, a HEAD): nothing to decode.
  const encoding = dechunk && rest.length > 0 ? headers["content-encoding"] : undefined;
  if (encoding === "gzip") rest = gunzipSync(rest);
  else if (encoding === "deflate") rest = inflateSync(rest);
  return answer(status, headers, rest.toString("utf8"));
}

/** A chunked body: `Transfer-Encoding: chunked` framing around each part. */
export function chunked(...parts: string[]): string[] {
  return [
    ...parts.map((part) => `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`),
    "0\r\n\r\n",
  ];
}

const exec = promisify(execFile);

/** Runs the real curl with these arguments against `baseUrl + path`; status and body back. */
export async function curl(path: string, args: string[]): Promise<Answer> {
  const { stdout } = await exec("curl", [
    ...["-s", "-S", "-D", "-", "--max-time", "20"],
    ...args,
    `${baseUrl}${path}`,
  ]);
  // With -D -, the response head comes first on stdout, then the body (curl undoes chunking).
  return parseResponse(Buffer.from(stdout, "utf8"), { dechunk: false });
}
