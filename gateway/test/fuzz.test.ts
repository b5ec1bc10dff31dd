import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { checkProperty } from "../../test/fuzz/replay";
import {
  answerProblems,
  type Choices,
  choices,
  type Digests,
  operationOf,
  type Plan,
  planOf,
  type Snapshot,
  storageKeyOf,
  storageProblems,
  type UploadRole,
} from "./support/fuzz-plans";
import { BUCKET, headerSigned, ORIGIN, OTHER_BUCKET, send } from "./support/requests";

// The gateway Worker fuzzed in-process, against its KeyVerifier model (support/
// key-verifier-model.mjs): random methods, paths, queries, headers and bodies, signed (header or
// presigned, by any key, forged or with headers left unsigned) and unsigned. Every answer is a
// 2xx/304/4xx (501 NotImplemented aside) with S3's XML error and a request id, and storage
// changes only by a write that was allowed and kept its promises. Over real HTTP against the
// real API: test/e2e/gateway-fuzz.test.ts. Replaying a failure: test/fuzz/replay.ts; R2 fills
// up over a run, so VITE_FC_SEED alone (the whole run again) reproduces what a shrunk
// VITE_FC_PATH case, sent to an empty bucket, may not.

const RUNS = 400;

const digests: Digests = {
  async sha256Hex(bytes) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
  },
  async md5Base64(bytes) {
    return btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("MD5", bytes))));
  },
};

const BUCKETS = { mine: BUCKET, theirs: OTHER_BUCKET, "not-a-repo": "photos", none: "" };
const KEY_IDS = {
  writer: `WRITE.${BUCKET}`,
  reader: `READ.${BUCKET}`,
  theirs: `WRITE.${OTHER_BUCKET}`,
  unknown: "FBAKNOBODYISSUEDTHIS",
};
const uploads: Record<UploadRole, string> = { mine: "", theirs: "", unknown: "nonsense" };

/** The plan as a request, signed for the model the way SDKs sign (presigned: x-amz-* hoisted). */
function requestOf(plan: Plan): Request {
  const bucket = BUCKETS[plan.bucket];
  const path = bucket === "" ? "/" : `/${bucket}${plan.key === "" ? "" : `/${plan.key}`}`;
  const query = new URLSearchParams(
    plan.query.map(([name, value]) => [
      name,
      typeof value === "string" ? value : uploads[value.upload],
    ]),
  );
  const headers = new Headers(plan.headers);
  const { how, key, forged, unsigned } = plan.signing;
  const credential = `${KEY_IDS[key]}/20260101/auto/s3/aws4_request`;
  const signature = (forged ? "0" : "5").repeat(64);
  const signed = (name: string) => !unsigned.includes(name);
  if (how === "header") {
    headers.set("x-amz-date", "20260101T000000Z");
    if (!headers.has("x-amz-content-sha256"))
      headers.set("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    const names = ["host", ...headers.keys()].filter(signed).sort();
    headers.set(
      "authorization",
      `AWS4-HMAC-SHA256 Credential=${credential}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
    );
  } else if (how === "presigned") {
    for (const [name, value] of [...headers]) {
      if (name.startsWith("x-amz-") && signed(name)) {
        query.append(name, value);
        headers.delete(name);
      }
    }
    query.set("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
    query.set("X-Amz-Credential", credential);
    query.set("X-Amz-Date", "20260101T000000Z");
    query.set("X-Amz-Expires", "300");
    query.set("X-Amz-SignedHeaders", ["host", ...headers.keys()].filter(signed).sort().join(";"));
    query.set("X-Amz-Signature", signature);
  }
  const search = query.size > 0 ? `?${query}` : "";
  return new Request(`${ORIGIN}${path}${search}`, {
    method: plan.method,
    headers,
    body: plan.body,
  });
}

async function snapshot(): Promise<Snapshot> {
  const objects: Snapshot = new Map();
  let cursor: string | undefined;
  do {
    const page = await env.BUCKET.list({ cursor });
    for (const object of page.objects) {
      // The multipart index (src/uploads.ts) is bookkeeping, not an object.
      if (!object.key.startsWith(".uploads/")) objects.set(object.key, object.version);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return objects;
}

beforeAll(async () => {
  for (const [role, bucket] of [
    ["mine", BUCKET],
    ["theirs", OTHER_BUCKET],
  ] as const) {
    const created = await send(
      headerSigned("POST", `/${bucket}/a.txt?uploads`, { key: `WRITE.${bucket}` }),
    );
    uploads[role] = /<UploadId>([^<]+)<\/UploadId>/.exec(await created.text())?.[1] as string;
  }
});

/**
 * An answer's body as text. An object stored with a Content-Encoding it does not have (gzip over
 * plain bytes) is served as stored; fetch's own decoding then fails, which is the client's view.
 */
async function textOf(response: Response): Promise<string> {
  try {
    return new TextDecoder().decode(await response.arrayBuffer());
  } catch (error) {
    if (response.ok && response.headers.has("content-encoding")) return "";
    throw error;
  }
}

describe("the gateway, fuzzed in-process", () => {
  const name = "answers 2xx/304/4xx with S3's XML and a request id, and stores only valid writes";
  it(name, async () => {
    let requests = 0;
    const answers = new Map<string, number>();
    let writes = 0;
    const started = performance.now();
    await checkProperty(
      name,
      fc.asyncProperty(choices, async (chosen) => {
        const plan = await planOf(chosen, digests);
        const request = requestOf(plan);
        const url = new URL(request.url);
        const key = storageKeyOf(url);
        const before = await snapshot();
        const response = await send(request);
        const text = await textOf(response);
        requests++;
        const seen =
          response.status >= 500 ? String(response.status) : `${String(response.status)[0]}xx`;
        answers.set(seen, (answers.get(seen) ?? 0) + 1);
        const after = await snapshot();
        const operation = operationOf(plan.method, url.searchParams, plan.key);
        if (response.ok && (operation === "PutObject" || operation === "DeleteObject")) writes++;
        const problems = [
          ...answerProblems(
            plan.method,
            { ...response, status: response.status, header: (n) => response.headers.get(n), text },
            ["NotImplemented"],
          ),
          ...storageProblems(plan, operation, response.status, key, before, after),
        ];
        if (operation === "PutObject" && response.ok && plan.payload) {
          const stored = await env.BUCKET.get(key);
          const bytes = stored ? new Uint8Array(await stored.arrayBuffer()) : undefined;
          if (bytes?.join() !== plan.payload.join()) {
            problems.push("the stored object is not the body sent");
          }
        }
        if (problems.length > 0) {
          throw new Error(
            `${problems.join("; ")}\n${request.method} ${request.url}\n` +
              `headers: ${JSON.stringify([...request.headers])}\n` +
              `→ ${response.status} ${text.slice(0, 300)}`,
          );
        }
      }),
      RUNS,
    );
    const seconds = (performance.now() - started) / 1000;
    const statuses = [...answers].sort().map(([status, n]) => `${n} ${status}`);
    console.log(
      `gateway fuzz (in-process): ${requests} requests in ${seconds.toFixed(1)} s: ` +
        `${statuses.join(", ")}; ${writes} stored or deleted an object`,
    );
    expect(requests).toBeGreaterThan(0);
  }, 120_000);
});

describe("the fuzzer's checks can fail", () => {
  const id = "0123456789ABCDEF";
  const answer = (status: number, text: string, headers: Record<string, string> = {}) => {
    const all: Record<string, string> = {
      "x-amz-request-id": id,
      "x-content-type-options": "nosniff",
      "content-type": "application/xml",
      ...headers,
    };
    return { status, text, header: (name: string) => all[name] ?? null };
  };
  const error = (code: string, requestId = id) =>
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>m</Message><RequestId>${requestId}</RequestId></Error>`;

  it("pass what the gateway promises", () => {
    expect(answerProblems("GET", answer(404, error("NoSuchKey")), [])).toEqual([]);
    expect(answerProblems("GET", answer(501, error("NotImplemented")), ["NotImplemented"])).toEqual(
      [],
    );
    expect(answerProblems("HEAD", answer(403, ""), [])).toEqual([]);
    expect(answerProblems("GET", answer(304, ""), [])).toEqual([]);
  });

  it("catch a 500, a foreign error body, a wrong request id, bad XML, no nosniff", () => {
    const cases: [ReturnType<typeof answer>, RegExp][] = [
      [answer(500, error("InternalError")), /server error 500/],
      [answer(501, error("NotImplemented")), /server error 501/],
      [answer(400, "Bad Request", { "content-type": "text/plain" }), /not S3's XML/],
      [answer(400, error("InvalidArgument", "FFFFFFFFFFFFFFFF")), /RequestId/],
      [answer(200, "<a>&#x0;</a>"), /references no XML character/],
      [answer(200, "<a>\u0001</a>"), /U\+1/],
      [answer(200, "", { "x-content-type-options": "" }), /nosniff/],
      [answer(200, "", { "x-amz-request-id": "" }), /x-amz-request-id/],
      [answer(302, error("Found")), /unexpected status 302/],
    ];
    for (const [bad, problem] of cases) {
      expect(answerProblems("GET", bad, []).join("; "), bad.text).toMatch(problem);
    }
  });

  it("catch a write that should not have stored, or stored elsewhere", async () => {
    const chosen = fc.sample(choices, { numRuns: 1, seed: 1 })[0] as Choices;
    const plan = {
      ...(await planOf(chosen, digests)),
      bucket: "mine" as const,
      honest: true,
      signing: { how: "none" as const, key: "writer" as const, forged: false, unsigned: [] },
    };
    const before: Snapshot = new Map([["b/x", "1"]]);
    const wrote: Snapshot = new Map([["b/x", "2"]]);
    expect(storageProblems(plan, "PutObject", 200, "b/x", before, wrote).join()).toMatch(
      /without WRITE/,
    );
    expect(storageProblems(plan, "PutObject", 400, "b/x", before, wrote).join()).toMatch(
      /stored state changed: b\/x/,
    );
    const signed = { ...plan, signing: { ...plan.signing, how: "header" as const } };
    expect(storageProblems(signed, "PutObject", 200, "b/y", before, wrote).join()).toMatch(
      /stored state changed: b\/x/,
    );
    expect(
      storageProblems({ ...signed, honest: false }, "PutObject", 200, "b/x", before, wrote).join(),
    ).toMatch(/broke its promises/);
    expect(storageProblems(signed, "PutObject", 200, "b/x", before, wrote)).toEqual([]);
  });
});
