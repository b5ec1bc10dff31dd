#!/usr/bin/env node
/**
 * `npm test`: every stage, each timed, then how long each took and one closing line of counts.
 *
 * The stages run in two lanes at once: the end-to-end suite spends most of its time waiting on
 * `npm run dev`, the S3 tools' processes and the browser, so the checks and the in-process suites
 * use the other core meanwhile, and then run the S3 tools' end-to-end files against a dev server
 * of their own. Each lane stops at its first failing stage; the end-to-end lane's
 * output is held and printed in one piece when it ends, so the two never interleave.
 * `FLASHGATE_TEST_SERIAL=1 npm test` runs every stage one after another instead.
 *
 * `npm test -- <pattern> [more vitest args]` runs only the test files whose path contains the
 * pattern, in whichever suites have one, one after another, and skips the checks (type check,
 * lint, OpenAPI) a single file does not need.
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The Vitest suites: their config and where their files are. */
const SUITES = [
  { name: "in-process (workerd)", config: "vitest.config.ts", dir: "test", skip: "test/e2e/" },
  { name: "S3 gateway (workerd)", config: "gateway/vitest.config.ts", dir: "gateway/test" },
  { name: "AI gateway (workerd)", config: "ai-gateway/vitest.config.ts", dir: "ai-gateway/test" },
  { name: "end to end (npm run dev)", config: "test/e2e/vitest.config.ts", dir: "test/e2e" },
];

const CHECKS = [
  { name: "type check", command: ["npm", "run", "--silent", "typecheck"] },
  { name: "lint and format", command: ["npm", "run", "--silent", "lint"] },
  { name: "OpenAPI document", command: ["npm", "run", "--silent", "openapi:check"] },
  { name: "static pages", command: ["npm", "run", "--silent", "assets"] },
];

function testFiles(dir, skip) {
  const found = [];
  const walk = (at) => {
    for (const entry of readdirSync(join(root, at), { withFileTypes: true })) {
      const path = `${at}/${entry.name}`;
      if (entry.name === "node_modules" || (skip && `${path}/`.startsWith(skip))) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".test.ts")) found.push(path);
    }
  };
  walk(dir);
  return found;
}

/**
 * Runs a command; resolves to its exit code and output. Its output is shown as it comes, or, when
 * `held`, kept and shown by the caller once the command ends.
 */
function run(command, { held = false, env = {} } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        ...env,
        FORCE_COLOR: process.env.FORCE_COLOR ?? (process.stdout.isTTY ? "1" : "0"),
      },
    });
    let output = "";
    const take = (stream) => (data) => {
      if (!held) stream.write(data);
      output += data;
    };
    child.stdout.on("data", take(process.stdout));
    child.stderr.on("data", take(process.stderr));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

/** Vitest's "Tests  3 failed | 860 passed | 2 skipped (865)" line, as numbers. */
function countsOf(output) {
  const line = output.split("\n").findLast((l) => /^\s*Tests\s+\d/.test(l)) ?? "";
  const count = (word) => Number(new RegExp(`(\\d+) ${word}`).exec(line)?.[1] ?? 0);
  return { passed: count("passed"), failed: count("failed"), skipped: count("skipped") };
}

const args = process.argv.slice(2);
const pattern = args.find((arg) => !arg.startsWith("-"));
const stages = [];
if (!pattern) stages.push(...CHECKS.map((check) => ({ ...check, vitest: false })));
else stages.push({ ...CHECKS[3], vitest: false });
for (const suite of SUITES) {
  const files = testFiles(suite.dir, suite.skip);
  if (pattern && !files.some((file) => file.includes(pattern))) continue;
  stages.push({
    name: suite.name,
    command: ["npx", "vitest", "run", "--config", suite.config, ...args],
    vitest: true,
  });
}
if (pattern && !stages.some((stage) => stage.vitest)) {
  console.error(`npm test: no test file's path contains "${pattern}"`);
  process.exit(1);
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const timings = new Map();
const failures = [];

/** Runs stages one after another, stopping at the first that fails. */
async function runLane(laneStages, { held = false } = {}) {
  for (const stage of laneStages) {
    const header = `\n== ${stage.name}: ${stage.command.join(" ")}`;
    if (held)
      console.log(
        `\n== ${stage.name}: started beside the other stages; its output follows when it ends`,
      );
    else console.log(header);
    const started = Date.now();
    const { code, output } = await run(stage.command, { held, env: stage.env });
    const seconds = (Date.now() - started) / 1000;
    if (held) {
      console.log(header);
      process.stdout.write(output);
    }
    timings.set(
      stage.name,
      `${stage.name.padEnd(26)} ${seconds.toFixed(1).padStart(6)} s${code ? "  FAILED" : ""}`,
    );
    const plain = stripVTControlCharacters(output);
    if (stage.vitest) {
      const counts = countsOf(plain);
      for (const key of Object.keys(totals)) totals[key] += counts[key];
      if (code && counts.failed === 0) totals.failed += 1;
    } else if (code) totals.failed += 1;
    if (code) {
      failures.push(stage.name);
      return;
    }
  }
}

const started = Date.now();
const e2e = stages.find((stage) => stage.name === SUITES.at(-1).name);
const serial = pattern || process.env.FLASHGATE_TEST_SERIAL === "1" || !e2e;
if (serial) await runLane(stages);
else {
  // The end-to-end suite is the longest stage, so it runs in two parts, each against its own
  // `npm run dev`: the S3 tools' files (test/e2e/s3-tools/, waiting on aws, s3cmd, rclone, boto3,
  // minio) after the checks and in-process suites in the first lane, the rest in the second.
  const S3_TOOLS = "s3-tools/";
  const e2eRest = {
    ...e2e,
    command: [...e2e.command, "--exclude", `${S3_TOOLS}**`],
    // Its dev server's output file ($TMPDIR/flashgate-e2e-dev-server[-<part>].log).
    env: { FLASHGATE_E2E_PART: "" },
  };
  const e2eTools = {
    ...e2e,
    name: "end to end: S3 tools",
    command: [...e2e.command, S3_TOOLS],
    env: { FLASHGATE_E2E_PART: "s3-tools" },
  };
  stages.splice(stages.indexOf(e2e), 1, e2eRest, e2eTools);
  // The static pages first: the end-to-end suite's dev server and the in-process suites serve them.
  const [pages, rest] = [
    stages.filter((s) => s.name === "static pages"),
    stages.filter((s) => s.name !== "static pages"),
  ];
  await runLane(pages);
  if (!failures.length) {
    await Promise.all([
      runLane(rest.filter((stage) => stage !== e2eRest)),
      runLane([e2eRest], { held: true }),
    ]);
  }
}
const report = stages
  .filter((stage) => timings.has(stage.name))
  .map((stage) => timings.get(stage.name));
const failed = failures.join(", ");
report.push(
  `${"in all".padEnd(26)} ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s${serial ? "" : " (two lanes at once)"}`,
);

console.log(`\n== npm test${pattern ? ` (files matching "${pattern}")` : ""}, stage by stage`);
for (const line of report) console.log(line);
if (failed) console.log(`stopped at: ${failed}`);
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(failed ? 1 : 0);
