import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_BINDINGS } from "./test/support/bindings.ts";

// Test files that sweep whole tables (every sealed secret in the database) and so need a
// database of their own; every other file makes its own workspaces, repos and keys.
const WHOLE_DATABASE = ["test/keys/reseal.test.ts", "test/providers/reseal.test.ts"];

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
    projects: [
      {
        // One workerd per Vitest worker, reused from file to file: starting one per file cost
        // ~4 s each. Files share that worker's D1, so each makes its own data.
        extends: true,
        test: {
          name: "workers",
          include: ["test/**/*.test.ts"],
          // The end-to-end suite drives `npm run dev` from Node: test/e2e/vitest.config.ts.
          exclude: ["test/e2e/**", ...WHOLE_DATABASE],
          isolate: false,
        },
      },
      {
        extends: true,
        test: { name: "whole-database", include: WHOLE_DATABASE },
      },
    ],
  },
}));
