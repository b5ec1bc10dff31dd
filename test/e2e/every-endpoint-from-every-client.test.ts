import { execFile, spawn } from "node:child_process";
import { createInterface } from "node:readline";
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
/** The Python that has `requests`, or the reason this machine has none (the test says which). */
const pythonForRequests = await exec("python3", ["-c", "import requests"], {
  timeout: 60_000,
}).then(
  () => ({ ok: true as const }),
  (error: Error) => ({ ok: false as const, reason: error.message.split("\n")[0] }),
);
if (!pythonForRequests.ok) {
  console.warn(`skipping the real Python requests journey: ${pythonForRequests.reason}`);
}

/**
 * Python's real `requests` library in one process for the whole journey: each request is a JSON
 * line on its stdin, each answer a JSON line on its stdout. Starting Python once keeps the test
 * independent of how slowly a machine's python3 starts (a version-manager shim can take seconds).
 */
function pythonRequestsSession(): { send: Send; close: () => void } {
  const script = `
import json, sys, requests
session = requests.Session()
for line in sys.stdin:
    method, url, token, body = json.loads(line)
    headers = {"Authorization": "Bearer " + token} if token else {}
    kwargs = {"json": body} if body is not None else {}
    r = requests.request(method, url, headers=headers, **kwargs)
    print(json.dumps({"status": r.status_code, "headers": dict(r.headers), "text": r.text}), flush=True)
`;
  const child = spawn("python3", ["-c", script], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  lines.on("line", (line) => waiting.shift()?.resolve(line));
  child.on("exit", (code) => {
    for (const { reject } of waiting.splice(0)) reject(new Error(`python3 exited (${code})`));
  });
  const send: Send = async (method, path, { token, body }) => {
    const line = new Promise<string>((resolve, reject) => waiting.push({ resolve, reject }));
    child.stdin.write(
      `${JSON.stringify([method, `${baseUrl}${path}`, token ?? "", body ?? null])}\n`,
    );
    const { status, headers, text } = JSON.parse(await line);
    const lower = Object.fromEntries(
      Object.entries(headers as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]),
    );
    return { status, headers: lower, text, body: text ? JSON.parse(text) : undefined };
  };
  return { send, close: () => child.stdin.end() };
}

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

  // One process for the whole journey; the time allowed covers a slow machine's start-up too.
  it.runIf(pythonForRequests.ok)(
    "works from Python's real requests library",
    async () => {
      const python = pythonRequestsSession();
      try {
        await fullJourney(python.send);
      } finally {
        python.close();
      }
    },
    120_000,
  );

  it("has exercised every operation the Worker documents (the journeys above run first)", async () => {
    const operations = await documentedOperations();
    expect(operations.length).toBeGreaterThanOrEqual(20);
    const missing = operations.filter((operation) => !covered.has(operation));
    expect(missing.filter((op) => !/^GET \/(openapi\.json|docs)$/.test(op))).toEqual([]);
  });
});
