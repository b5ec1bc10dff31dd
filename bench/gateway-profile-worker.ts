/**
 * Where the S3 gateway's time goes against its floor's (bench/gateway-floor.ts), measured inside
 * workerd: both Workers' handlers run in this isolate with real bindings (the API's KeyVerifier
 * over the service binding, the API's D1, the R2 bucket), one request at a time. Times are wall
 * microseconds per operation: the verifier's RPC includes the API isolate's work and the hop;
 * R2 and D1 calls include local I/O. POST a GatewayProfileRequest (requests signed by the bench
 * for `base`); the 1 MiB object is read from R2.
 */

import { crc32 } from "../gateway/src/crc32";
import type { Env as GatewayEnv } from "../gateway/src/env";
import gateway from "../gateway/src/index";
import { routeOf } from "../gateway/src/route";
import { authorize } from "../gateway/src/verify";
import { checkS3, type VerifyEnv } from "./floor";
import gatewayFloor from "./gateway-floor";

interface Env extends VerifyEnv, GatewayEnv {}

interface GatewayProfileRequest {
  /** For operations on 1 MiB; `smallIterations` for the rest. */
  iterations: number;
  smallIterations: number;
  base: string;
  repoId: string;
  getKey: string;
  putKey: string;
  getHeaders: Record<string, string>;
  putHeaders: Record<string, string>;
  /** The object's hex SHA-256 (the PUT's signed payload hash). */
  sha256: string;
  /** Requests signed for `base`, bodies in base64: DeleteObjects of 1000 keys, CopyObject. */
  deleteObjects: SignedRequest;
  copy: SignedRequest;
  /** The object PUT as aws-chunked: each chunk signed, and unsigned (no trailer either way). */
  signedChunks: SignedRequest;
  unsignedChunks: SignedRequest;
}

interface SignedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Network bodies arrive in pieces; these are of this size. */
const PIECE = 64 * 1024;

async function timed(iterations: number, work: () => Promise<unknown> | unknown) {
  for (let i = 0; i < Math.min(20, iterations); i++) await work(); // warm the JIT
  const start = performance.now();
  for (let i = 0; i < iterations; i++) await work();
  return Number((((performance.now() - start) * 1000) / iterations).toFixed(1));
}

async function ok(response: Response | Promise<Response>) {
  const r = await response;
  const body = await r.arrayBuffer();
  if (!r.ok) {
    throw new Error(`profile request answered ${r.status} ${new TextDecoder().decode(body)}`);
  }
}

/** An R2 bucket whose put drains the stream it is given and keeps nothing. */
function draining(bucket: R2Bucket): R2Bucket {
  return new Proxy(bucket, {
    get(target, property) {
      if (property === "put") {
        return async (_key: string, value: unknown) => {
          if (value instanceof ReadableStream) {
            const reader = value.getReader();
            while (!(await reader.read()).done) {}
          }
          return { httpEtag: '"drained"' };
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export default {
  async fetch(request, env, ctx) {
    const input = (await request.json()) as GatewayProfileRequest;
    const { iterations: n, smallIterations: m, base, repoId } = input;
    const stored = await env.BUCKET.get(`${repoId}/${input.getKey}`);
    if (!stored) throw new Error("the bench object is not in R2");
    const bytes = new Uint8Array(await stored.arrayBuffer());
    const getUrl = `${base}/${repoId}/${input.getKey}`;
    const putUrl = `${base}/${repoId}/${input.putKey}`;
    const get = () => new Request(getUrl, { headers: input.getHeaders });
    // The body in network-sized pieces, each its own buffer (a piece may be handed on).
    const pieces = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < bytes.length; at += PIECE) {
            controller.enqueue(bytes.slice(at, at + PIECE));
          }
          controller.close();
        },
      });
    const put = () =>
      new Request(putUrl, {
        method: "PUT",
        headers: { ...input.putHeaders, "content-length": String(bytes.length) },
        body: pieces(),
      });
    /** A signed request of the bench's, its body (if any) in network-sized pieces. */
    const requestOf = (signed: SignedRequest) => {
      const body = signed.body && Uint8Array.from(atob(signed.body), (c) => c.charCodeAt(0));
      return () =>
        new Request(`${base}${signed.path}`, {
          method: signed.method,
          headers: signed.headers,
          body: body
            ? new ReadableStream<Uint8Array>({
                start(controller) {
                  for (let at = 0; at < body.length; at += PIECE) {
                    controller.enqueue(body.slice(at, at + PIECE));
                  }
                  controller.close();
                },
              })
            : null,
        });
    };
    const signedChunks = requestOf(input.signedChunks);
    const unsignedChunks = requestOf(input.unsignedChunks);
    const gatewayEnv: GatewayEnv = { BUCKET: env.BUCKET, KEY_VERIFIER: env.KEY_VERIFIER };
    const drainedGatewayEnv = { ...gatewayEnv, BUCKET: draining(env.BUCKET) };
    const floorEnv = env as never;
    const drainedFloorEnv = { ...env, BUCKET: draining(env.BUCKET) } as never;
    const both = async (
      iterations: number,
      make: () => Request,
      envs: [GatewayEnv, never] = [gatewayEnv, floorEnv],
    ) => ({
      gateway: await timed(iterations, () => ok(gateway.fetch(make() as never, envs[0]))),
      floor: await timed(iterations, () => ok(gatewayFloor.fetch(make() as never, envs[1], ctx))),
    });

    const requests = {
      "GET 1 MiB (R2 read, body drained)": await both(n, get),
      "PUT 1 MiB (streamed into R2)": await both(n, put),
      "PUT 1 MiB, R2 replaced by a sink that drains": await both(n, put, [
        drainedGatewayEnv,
        drainedFloorEnv,
      ]),
      // After the first, the keys are absent: R2 deletes them alike, S3 answers Deleted for each.
      "DeleteObjects of 1000 keys (Content-MD5, one R2 call)": await both(
        n,
        requestOf(input.deleteObjects),
      ),
      "CopyObject of 1 MiB (R2 into R2)": await both(n, requestOf(input.copy)),
      // Both columns the gateway: what checking each chunk's signature adds to a 1 MiB stream.
      "PUT 1 MiB in signed chunks (gateway) against unsigned aws-chunked (floor column: the gateway too), R2 drained":
        {
          gateway: await timed(n, () =>
            ok(gateway.fetch(signedChunks() as never, drainedGatewayEnv)),
          ),
          floor: await timed(n, () =>
            ok(gateway.fetch(unsignedChunks() as never, drainedGatewayEnv)),
          ),
        },
    };

    // Verification alone, the key remembered: the RPC to the API's KeyVerifier (zod, the same
    // SigV4 check, structured clone both ways) against the floor's inline check.
    const getRequest = get();
    const route = routeOf("GET", new URL(getUrl), getRequest.headers);
    const verification = {
      gateway: await timed(m, () => authorize(gatewayEnv, getRequest, route)),
      floor: await timed(m, async () => {
        const check = await checkS3(
          env,
          ctx,
          {
            method: "GET",
            url: getUrl,
            header: (name) => getRequest.headers.get(name) ?? undefined,
            headerNames: getRequest.headers.keys(),
            requiredAccess: "READ",
          },
          Date.now(),
        );
        if (!check.valid) throw new Error(`floor check: ${check.code}`);
      }),
    };

    const parsedPutUrl = new URL(putUrl);
    const digestPieces = async (algorithm: string) => {
      const stream = new crypto.DigestStream(algorithm);
      const writer = stream.getWriter();
      for (let at = 0; at < bytes.length; at += PIECE) {
        await writer.write(bytes.subarray(at, at + PIECE));
      }
      await writer.close();
      return stream.digest;
    };
    const stages = {
      "verification, key remembered: KeyVerifier RPC (gateway)": verification.gateway,
      "verification, key remembered: inline checkS3 (floor)": verification.floor,
      "new URL(request.url) (the gateway parses it for routeOf)": await timed(
        m,
        () => new URL(putUrl),
      ),
      "routeOf (gateway/src/route.ts), URL parsed": await timed(m, () =>
        routeOf("PUT", parsedPutUrl, getRequest.headers),
      ),
      "Object.fromEntries(request.headers) (the RPC's input)": await timed(m, () =>
        Object.fromEntries(getRequest.headers),
      ),
      "SHA-256 of 1 MiB, DigestStream in 64 KiB pieces (both)": await timed(n, () =>
        digestPieces("SHA-256"),
      ),
      "MD5 of 1 MiB, DigestStream (Content-Md5 sent)": await timed(n, () => digestPieces("MD5")),
      "CRC-32 of 1 MiB, JS (x-amz-checksum-crc32 sent, AWS SDK v3's default)": await timed(n, () =>
        crc32(bytes),
      ),
      "a 1 MiB request body in 64 KiB pieces, built and drained (harness, in both PUTs)":
        await timed(n, async () => {
          const reader = (put().body as ReadableStream<Uint8Array>).getReader();
          while (!(await reader.read()).done) {}
        }),
    };
    return Response.json({ requests, stages });
  },
} satisfies ExportedHandler<Env>;
