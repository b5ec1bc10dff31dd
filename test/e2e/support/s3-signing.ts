import { Readable } from "node:stream";
import {
  type GetObjectCommand,
  type ListObjectsV2Command,
  type PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
// What @smithy/node-http-handler itself uses to put a request on the wire.
import { buildQueryString, HttpResponse } from "@smithy/core/protocols";
import type { HttpRequest } from "@smithy/types";

/** Any host: the gateway verifies the request it received, wherever that was addressed. */
export const S3_ENDPOINT = "https://s3.flashgate.example";

/** What a gateway passes to POST /verify/s3: the request exactly as it received it. */
export interface ReceivedS3Request {
  method: string;
  url: string;
  headers: Record<string, string>;
}

/**
 * The request as Node's HTTP handler would send it: the SDK's path verbatim and the query
 * encoded by the SDK's own `buildQueryString`, as @smithy/node-http-handler writes them.
 */
export function asReceived(request: HttpRequest): ReceivedS3Request {
  const query = buildQueryString(request.query ?? {});
  const port = request.port ? `:${request.port}` : "";
  return {
    method: request.method,
    url: `${request.protocol}//${request.hostname}${port}${request.path}${query ? `?${query}` : ""}`,
    headers: { ...request.headers },
  };
}

export interface CapturingS3Client {
  client: S3Client;
  /** Sends `command` through the SDK's whole middleware stack; returns the signed request. */
  signed(
    command: GetObjectCommand | PutObjectCommand | ListObjectsV2Command,
  ): Promise<ReceivedS3Request>;
}

/**
 * AWS SDK v3's own S3Client with a request handler that sends nothing: the handler is the last
 * stop of the middleware stack, so what it receives is the final, signed request, byte for byte
 * what would go on the wire. It answers an empty 200, so every command resolves as normal.
 */
export function capturingS3Client(
  credentials: { accessKeyId: string; secretAccessKey: string },
  config: Partial<S3ClientConfig> = {},
): CapturingS3Client {
  const sent: HttpRequest[] = [];
  const client = new S3Client({
    region: "auto",
    endpoint: S3_ENDPOINT,
    forcePathStyle: true,
    ...config,
    credentials,
    requestHandler: {
      async handle(request: HttpRequest) {
        sent.push(request);
        const body = Readable.from([]);
        return { response: new HttpResponse({ statusCode: 200, headers: {}, body }) };
      },
    },
  });
  return {
    client,
    async signed(command) {
      const before = sent.length;
      await client.send(command as any);
      if (sent.length !== before + 1) {
        throw new Error(`expected one request, the SDK sent ${sent.length - before}`);
      }
      return asReceived(sent[before] as HttpRequest);
    },
  };
}
