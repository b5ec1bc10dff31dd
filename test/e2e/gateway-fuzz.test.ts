import { createHash } from "node:crypto";
import { Sha256 } from "@aws-crypto/sha256-js";
import {
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import { buildQueryString, HttpRequest, type IHttpRequest } from "@smithy/core/protocols";
import { SignatureV4 } from "@smithy/signature-v4";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  answerProblems,
  choices,
  type Digests,
  type KeyRole,
  operationOf,
  type Plan,
  planOf,
  type Snapshot,
  storageKeyOf,
  storageProblems,
  type UploadRole,
} from "../../gateway/test/support/fuzz-plans";
import { checkProperty } from "../fuzz/replay";
import { gatewayUrl } from "./support/http";
import { apiAs, credentialsOf, type StorageKey, s3ClientFor } from "./support/s3-gateway";

// The gateway fuzzer's requests (gateway/test/support/fuzz-plans.ts) over real HTTP to
// `npm run dev`, signed with real storage keys (SigV4 by @smithy/signature-v4, header-signed or
// presigned, or forged with a wrong secret) and checked by the real API's KeyVerifier: every
// answer a 2xx/304/4xx (501 NotImplemented and the failure limit's 503 SlowDown aside) with
// S3's XML and a request id, and storage changed only by a valid write. Bounded: 150 requests,
// each followed by a listing to see what changed. The in-process fuzzer (gateway/test/fuzz.test.ts)
// runs more. Replaying a failure: test/fuzz/replay.ts (the same VITE_FC_* variables).

const RUNS = 150;
/** Its own address, so its failures count against nobody else (wrangler dev keeps it). */
const FUZZ_ADDRESS = "198.51.100.21";

const digests: Digests = {
  sha256Hex: async (bytes) => createHash("sha256").update(bytes).digest("hex"),
  md5Base64: async (bytes) => createHash("md5").update(bytes).digest("base64"),
};

let repos: { mine: string; theirs: string };
let keys: Record<KeyRole, { accessKeyId: string; secretAccessKey: string }>;
let listers: { mine: S3Client; theirs: S3Client };
const uploads: Record<UploadRole, string> = { mine: "", theirs: "", unknown: "nonsense" };

beforeAll(async () => {
  const owner = await apiAs("gateway-fuzz");
  repos = { mine: await owner.newRepo("fuzz"), theirs: await owner.newRepo("fuzz-other") };
  const writer: StorageKey = await owner.newKey(repos.mine, "WRITE");
  const reader: StorageKey = await owner.newKey(repos.mine, "READ");
  const theirs: StorageKey = await owner.newKey(repos.theirs, "WRITE");
  keys = {
    writer: credentialsOf(writer),
    reader: credentialsOf(reader),
    theirs: credentialsOf(theirs),
    unknown: { accessKeyId: "FBAKNOBODYISSUEDTHIS", secretAccessKey: writer.secret },
  };
  listers = {
    mine: s3ClientFor(keys.writer).client,
    theirs: s3ClientFor(keys.theirs).client,
  };
  for (const role of ["mine", "theirs"] as const) {
    const created = await listers[role].send(
      new CreateMultipartUploadCommand({ Bucket: repos[role], Key: "a.txt" }),
    );
    uploads[role] = created.UploadId as string;
  }
});

/** The plan as the request a client would send: URL, headers and body, signed as it says. */
async function requestOf(plan: Plan) {
  const target = new URL(gatewayUrl);
  const bucket = { ...repos, "not-a-repo": "photos", none: "" }[plan.bucket];
  const path = bucket === "" ? "/" : `/${bucket}${plan.key === "" ? "" : `/${plan.key}`}`;
  const query: Record<string, string[]> = {};
  for (const [name, value] of plan.query) {
    const values = query[name] ?? [];
    values.push(typeof value === "string" ? value : uploads[value.upload]);
    query[name] = values;
  }
  const headers: Record<string, string> = {
    host: target.host,
    ...Object.fromEntries(plan.headers),
  };
  let request: IHttpRequest = new HttpRequest({
    method: plan.method,
    protocol: target.protocol,
    hostname: target.hostname,
    port: Number(target.port),
    path,
    query,
    headers,
  });
  const { how, key, forged, unsigned } = plan.signing;
  if (how !== "none") {
    const credentials = { ...keys[key] };
    if (forged) credentials.secretAccessKey = `${credentials.secretAccessKey}x`;
    const signer = new SignatureV4({
      service: "s3",
      region: "auto",
      credentials,
      sha256: Sha256,
      uriEscapePath: false,
    });
    // S3 clients always state the payload hash; presigners state UNSIGNED-PAYLOAD.
    headers["x-amz-content-sha256"] ??= "UNSIGNED-PAYLOAD";
    const left = new Set(unsigned);
    request =
      how === "header"
        ? await signer.sign(request, { unsignableHeaders: left })
        : await signer.presign(request, {
            expiresIn: 300,
            unsignableHeaders: left,
            unhoistableHeaders: left,
          });
  }
  const search = buildQueryString(request.query ?? {});
  const sent: Record<string, string> = { ...request.headers, "CF-Connecting-IP": FUZZ_ADDRESS };
  delete sent.host;
  return {
    url: `${gatewayUrl}${request.path}${search ? `?${search}` : ""}`,
    headers: sent,
    body: plan.body,
  };
}

async function snapshot(): Promise<Snapshot> {
  const objects: Snapshot = new Map();
  for (const role of ["mine", "theirs"] as const) {
    let ContinuationToken: string | undefined;
    do {
      const page = await listers[role].send(
        new ListObjectsV2Command({ Bucket: repos[role], EncodingType: "url", ContinuationToken }),
      );
      for (const object of page.Contents ?? []) {
        const key = `${repos[role]}/${decodeURIComponent(object.Key as string)}`;
        objects.set(key, `${object.ETag} ${object.LastModified?.toISOString()}`);
      }
      ContinuationToken = page.NextContinuationToken;
    } while (ContinuationToken);
  }
  return objects;
}

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

describe("the gateway, fuzzed over real HTTP against the real API", () => {
  const name = "answers 2xx/304/4xx with S3's XML and a request id, and stores only valid writes";
  it(name, async () => {
    let requests = 0;
    let writes = 0;
    const statuses = new Map<string, number>();
    const started = performance.now();
    // Only these requests touch the fuzz repos: each answer's listing is the next one's before.
    let state = await snapshot();
    await checkProperty(
      name,
      fc.asyncProperty(choices, async (chosen) => {
        const plan = await planOf(chosen, digests);
        const request = await requestOf(plan);
        const url = new URL(request.url);
        const key = storageKeyOf(url);
        const before = state;
        const response = await fetch(request.url, {
          method: plan.method,
          headers: request.headers,
          body: request.body as Uint8Array<ArrayBuffer> | undefined,
        });
        const text = await textOf(response);
        requests++;
        const after = await snapshot();
        state = after;
        const status =
          response.status >= 500 ? String(response.status) : `${`${response.status}`[0]}xx`;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        const operation = operationOf(plan.method, url.searchParams, plan.key);
        if (response.ok && (operation === "PutObject" || operation === "DeleteObject")) writes++;
        const problems = [
          ...answerProblems(
            plan.method,
            { status: response.status, header: (n) => response.headers.get(n), text },
            ["NotImplemented", "SlowDown"],
          ),
          ...storageProblems(plan, operation, response.status, key, before, after),
        ];
        if (operation === "PutObject" && response.ok && plan.payload) {
          const role = key.startsWith(repos.mine) ? "mine" : "theirs";
          const got = await listers[role].send(
            new GetObjectCommand({ Bucket: repos[role], Key: key.slice(repos[role].length + 1) }),
          );
          const stored = await got.Body?.transformToByteArray();
          if (Buffer.compare(Buffer.from(stored ?? []), Buffer.from(plan.payload)) !== 0) {
            problems.push("the stored object is not the body sent");
          }
        }
        if (problems.length > 0) {
          throw new Error(
            `${problems.join("; ")}\n${plan.method} ${request.url.slice(0, 400)}\n` +
              `headers: ${JSON.stringify(request.headers).slice(0, 600)}\n` +
              `→ ${response.status} ${text.slice(0, 300)}`,
          );
        }
      }),
      RUNS,
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `gateway fuzz (over HTTP): ${requests} requests in ${seconds.toFixed(1)} s: ` +
        `${[...statuses]
          .sort()
          .map(([s, n]) => `${n} ${s}`)
          .join(", ")}; ` +
        `${writes} stored or deleted an object`,
    );
    expect(requests).toBeGreaterThan(0);
  }, 90_000);
});
