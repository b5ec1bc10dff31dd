import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));

// The AI gateway's own tests, inside workerd, against a model of the API's two entrypoints
// (test/support/api-model.mjs says what it answers). The real ones are exercised end to end
// (test/e2e/ai-gateway*.test.ts) with the providers' own SDKs.
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
            scriptPath: `${root}test/support/api-model.mjs`,
          },
        ],
      },
    }),
  ],
  test: { include: ["test/**/*.test.ts"], isolate: false },
});
