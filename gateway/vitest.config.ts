import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));

// The gateway's own tests, inside workerd with its R2 binding (local). One workerd serves every
// file (isolate: false; one per file cost ~1.2 s each), so files share the bucket: a test that
// lists a whole repository uses a repository of its own.
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
            // A model of the API's KeyVerifier (it says why in its first lines); the real one is
            // exercised end to end (test/e2e/s3-gateway*.test.ts, gateway-fuzz.test.ts).
            scriptPath: `${root}test/support/key-verifier-model.mjs`,
          },
        ],
      },
    }),
  ],
  test: { include: ["test/**/*.test.ts"], isolate: false },
});
