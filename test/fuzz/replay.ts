import fc from "fast-check";

// Replaying a failure: its report prints the seed and the counterexample's path, e.g.
//   VITE_FC_SEED=-1094213 VITE_FC_PATH="12:3:0" npx vitest run test/fuzz -t "POST /repo"
// (the end-to-end variant reads the same variables). Vite passes only VITE_-prefixed variables
// into the Workers runtime, hence the prefix. VITE_FC_RUNS multiplies every run count (a soak).
// Ids differ from run to run: a replay makes the same choices against the ids of its own run.

const settings = (import.meta as unknown as { env: Record<string, string | undefined> }).env;

/** Runs `property` (numRuns times, or as the variables above say); a failure throws its report. */
export async function checkProperty<T>(
  name: string,
  property: fc.IAsyncProperty<T>,
  numRuns: number,
): Promise<void> {
  const seed = settings.VITE_FC_SEED;
  const path = settings.VITE_FC_PATH;
  const scale = Number(settings.VITE_FC_RUNS ?? 1);
  const details = await fc.check(property, {
    numRuns: Math.max(1, Math.round(numRuns * (Number.isFinite(scale) ? scale : 1))),
    ...(seed !== undefined ? { seed: Number(seed) } : {}),
    ...(seed !== undefined && path !== undefined ? { path } : {}),
  });
  if (!details.failed) return;
  const report = fc.defaultReportMessage(details);
  throw new Error(
    `${report}\n\nReplay: VITE_FC_SEED=${details.seed} VITE_FC_PATH="${details.counterexamplePath}" ` +
      `(only the test "${name}", with -t)`,
  );
}
