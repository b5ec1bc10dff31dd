import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_BINDINGS } from "./test/support/bindings.ts";

export default defineConfig(async () => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        // Fixed test secrets, so a developer's .dev.vars never changes what the tests see.
        bindings: {
          ...TEST_BINDINGS,
          TEST_MIGRATIONS: await readD1Migrations("./migrations"),
        },
      },
    }),
  ],
  test: {
    // The Worker's one line per request (src/http/log.ts) would bury everything else; tests that
    // check it spy on console themselves.
    onConsoleLog: (line: string) => !line.startsWith('{"level":"info","message":"request"'),
    setupFiles: ["./test/support/apply-migrations.ts"],
    include: ["test/**/*.test.ts"],
    // The end-to-end suite drives `npm run dev` from Node: test/e2e/vitest.config.ts.
    exclude: ["test/e2e/**"],
  },
}));
