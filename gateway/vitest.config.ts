import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));

/**
 * Stands in for the API's KeyVerifier so the gateway's service binding resolves: it refuses
 * every request. Verification itself is proven end to end against the real API
 * (test/e2e/s3-gateway.test.ts); these tests cover the gateway's own parts.
 */
const REFUSING_VERIFIER = `
import { WorkerEntrypoint } from "cloudflare:workers";
export class KeyVerifier extends WorkerEntrypoint {
  verifyS3Request() {
    return { success: true, valid: false, code: "INVALID_ACCESS_KEY",
      s3Error: "InvalidAccessKeyId", message: "No such access key id" };
  }
}
export default { fetch: () => new Response(null, { status: 404 }) };`;

// The gateway's own tests, inside workerd with its R2 binding (local, isolated per test file).
export default defineConfig({
  root,
  plugins: [
    cloudflareTest({
      wrangler: { configPath: `${root}wrangler.toml` },
      miniflare: {
        workers: [
          {
            name: "flashgate-apikeys",
            modules: true,
            compatibilityDate: "2026-10-01",
            script: REFUSING_VERIFIER,
          },
        ],
      },
    }),
  ],
  test: { include: ["test/**/*.test.ts"] },
});
