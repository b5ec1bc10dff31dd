import fc from "fast-check";

// Replaying a failure: its report prints the seed and the counterexample's path, e.g.
//   VITE_FC_SEED=-1094213 VITE_FC_PATH="12:3:0" npx vitest run test/fuzz -t "POST /repo: "
// (the end-to-end variant reads the same variables). VITE_FC_RUNS multiplies every run count
// (VITE_FC_RUNS=10 for a soak). The Workers pool copies only VITE_-prefixed variables into the
// runtime's process.env, hence the prefix; import.meta.env would not do, as vitest caches a
// module with the values it had when first transformed. Ids differ from run to run: a replay
// makes the same choices against the ids of its own run.

/** Read at each call, never cached. */
const setting = (name: string): string | undefined =>
  (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env[name];

/** Runs `property` (numRuns times, or as the variables above say); a failure throws its report. */
export async function checkProperty<T>(
  name: string,
  property: fc.IAsyncProperty<T>,
  numRuns: number,
): Promise<void> {
  const seed = setting("VITE_FC_SEED");
  const path = setting("VITE_FC_PATH");
  const scale = Number(setting("VITE_FC_RUNS") ?? 1);
  const details = await fc.check(property, {
    numRuns: Math.max(1, Math.round(numRuns * (Number.isFinite(scale) ? scale : 1))),
    // The report then says what was wrong (the request, the answer), not only which input.
    includeErrorInReport: true,
    ...(seed !== undefined ? { seed: Number(seed) } : {}),
    ...(seed !== undefined && path !== undefined ? { path } : {}),
  });
  if (!details.failed) return;
  const report = fc.defaultReportMessage(details);
  throw new Error(
    `${report}\n\nReplay: VITE_FC_SEED=${details.seed} VITE_FC_PATH="${details.counterexamplePath}" ` +
      `npx vitest run … -t ${JSON.stringify(name)}`,
  );
}
