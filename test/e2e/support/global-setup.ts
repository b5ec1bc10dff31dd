import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startDevServer } from "../../../scripts/dev-server.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    /** The S3 gateway (gateway/), started by the same `npm run dev`. */
    gatewayUrl: string;
    /** The AI gateway (ai-gateway/), started by the same `npm run dev`. */
    aiGatewayUrl: string;
    /** Its local state (`--persist-to`): `wrangler d1 execute --local --persist-to` reaches D1. */
    statePath: string;
  }
}

/** One `npm run dev` for the whole suite, on free ports, with its own local state. */
export default async function setup(project: TestProject) {
  const server = await startDevServer();
  project.provide("baseUrl", server.baseUrl);
  project.provide("gatewayUrl", server.gatewayUrl);
  project.provide("aiGatewayUrl", server.aiGatewayUrl);
  project.provide("statePath", server.statePath);
  return async () => {
    await server.stop();
    // What wrangler printed, for when a test failed: the Worker's logs are there.
    // npm test runs the suite in two parts at once (scripts/test.mjs), each with its own file.
    const part = process.env.FLASHGATE_E2E_PART;
    const log = join(tmpdir(), `flashgate-e2e-dev-server${part ? `-${part}` : ""}.log`);
    await writeFile(log, server.output());
    console.log(`e2e: npm run dev's output is in ${log}`);
  };
}
