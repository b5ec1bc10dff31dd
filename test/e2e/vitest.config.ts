import { defineConfig } from "vitest/config";

// The end-to-end suite: plain Node, against `npm run dev` started once for all files
// (support/global-setup.ts), over real HTTP.
export default defineConfig({
  test: {
    root: new URL(".", import.meta.url).pathname,
    include: ["**/*.test.ts"],
    globalSetup: ["./support/global-setup.ts"],
    environment: "node",
    testTimeout: 30_000,
    // A poll waits for something that happens over HTTP or in a browser; one second (Vitest's
    // default) is too short on a busy 2-core machine, and a wait must not decide a test.
    expect: { poll: { timeout: 10_000 } },
    hookTimeout: 150_000,
    // One Node worker for every file, as in the other suites: a fresh one per file cost ~0.5 s each.
    // Files share the one dev server already, and each makes its own users, repos and keys.
    isolate: false,
  },
});
