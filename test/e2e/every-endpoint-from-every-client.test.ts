import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { baseUrl, chunked, curl, rawRequest } from "./support/http";
import { covered, documentedOperations, fullJourney, type Send } from "./support/journey";

const auth = (token?: string): [string, string][] =>
  token ? [["Authorization", `Bearer ${token}`]] : [];

/** curl as the README uses it: -d with a Content-Type for bodies, nothing at all otherwise. */
const curlClient: Send = (method, path, { token, body }) => {
  const args = ["-X", method];
  if (token) args.push("-H", `Authorization: Bearer ${token}`);
  if (body !== undefined)
    args.push("-H", "Content-Type: application/json", "-d", JSON.stringify(body));
  return curl(path, args);
};

/**
 * The bytes Python's `requests` sends: its default headers in its order, `json=` bodies typed
 * application/json, and `Content-Length: 0` on a DELETE or PUT without one.
 */
const pythonRequestsClient: Send = (method, path, { token, body }) => {
  const headers: [string, string][] = [
    ["User-Agent", "python-requests/2.32.3"],
    ["Accept-Encoding", "gzip, deflate"],
    ["Accept", "*/*"],
    ...auth(token),
  ];
  if (body === undefined) {
    if (method !== "GET" && method !== "HEAD") headers.push(["Content-Length", "0"]);
    return rawRequest(method, path, headers);
  }
  const json = JSON.stringify(body);
  headers.push(["Content-Length", String(Buffer.byteLength(json))]);
  headers.push(["Content-Type", "application/json"]);
  return rawRequest(method, path, headers, [json]);
};

/** A streaming client: bodies chunked with no Content-Length, split mid-token; `charset=utf-8`. */
const chunkedClient: Send = (method, path, { token, body }) => {
  const headers: [string, string][] = [["User-Agent", "streaming-client/1.0"], ...auth(token)];
  if (body === undefined) return rawRequest(method, path, headers);
  const json = JSON.stringify(body);
  headers.push(["Content-Type", "application/json; charset=utf-8"]);
  headers.push(["Transfer-Encoding", "chunked"]);
  const middle = Math.floor(json.length / 2);
  return rawRequest(method, path, headers, chunked(json.slice(0, middle), json.slice(middle)));
};

/** Node's own fetch (undici), with a charset-qualified JSON type and Accept. */
const fetchClient: Send = async (method, path, { token, body }) => {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json;charset=UTF-8";
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    text,
    body:
      text && response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : undefined,
  };
};

const exec = promisify(execFile);
const pythonHasRequests = await exec("python3", ["-c", "import requests"]).then(
  () => true,
  () => false,
);

/** Python's real `requests` library, where this machine has it. */
const realPythonRequests: Send = async (method, path, { token, body }) => {
  const script = `
import json, sys, requests
method, url, token, body = sys.argv[1:5]
headers = {"Authorization": "Bearer " + token} if token else {}
kwargs = {"json": json.loads(body)} if body else {}
r = requests.request(method, url, headers=headers, **kwargs)
print(json.dumps({"status": r.status_code, "headers": dict(r.headers), "text": r.text}))
`;
  const { stdout } = await exec("python3", [
    "-c",
    script,
    method,
    `${baseUrl}${path}`,
    token ?? "",
    body === undefined ? "" : JSON.stringify(body),
  ]);
  const { status, headers, text } = JSON.parse(stdout);
  const lower = Object.fromEntries(
    Object.entries(headers as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]),
  );
  return { status, headers: lower, text, body: text ? JSON.parse(text) : undefined };
};

describe("every endpoint of the README's API table, through wrangler dev", () => {
  it("works from curl, as the README writes it (no body and no Content-Type on GET and DELETE)", async () => {
    await fullJourney(curlClient);
  });

  it("works from Python's requests, byte for byte (Content-Length: 0 on a bodiless DELETE)", async () => {
    await fullJourney(pythonRequestsClient);
  });

  it("works with chunked bodies and application/json; charset=utf-8", async () => {
    await fullJourney(chunkedClient);
  });

  it("works from Node's fetch", async () => {
    await fullJourney(fetchClient);
  });

  it.runIf(pythonHasRequests)("works from Python's real requests library", async () => {
    await fullJourney(realPythonRequests);
  });

  it("has exercised every operation the Worker documents (the journeys above run first)", async () => {
    const operations = await documentedOperations();
    expect(operations.length).toBeGreaterThanOrEqual(20);
    const missing = operations.filter((operation) => !covered.has(operation));
    expect(missing.filter((op) => !/^GET \/(openapi\.json|docs)$/.test(op))).toEqual([]);
  });
});
