import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { baseUrl } from "./support/http";

const exec = promisify(execFile);
const root = new URL("../../", import.meta.url).pathname;
const readme = await readFile(`${root}README.md`, "utf8");
const README_API = "http://127.0.0.1:8787";

describe("the README, as a newcomer pastes it", () => {
  it("runs the quick start's curl sequence as written, against npm run dev", async () => {
    const marker = readme.indexOf("test/e2e/quick-start.test.ts");
    expect(marker).toBeGreaterThan(0);
    const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(marker))?.[1] ?? "";
    expect(block).toContain(`API=${README_API}\n`);
    // Only the port differs: this suite's npm run dev listens on a free one.
    const script = block.replace(`API=${README_API}\n`, `API=${baseUrl}\n`);
    const { stdout } = await exec("bash", ["-e", "-o", "pipefail", "-c", script], { cwd: root });

    const [created, listed, deleted] = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(created).toMatchObject({ success: true, key: expect.stringMatching(/^FBAK/) });
    expect(listed.keys).toEqual([expect.objectContaining({ id: created.id, name: "CI Bot" })]);
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    expect(deleted).toEqual({ success: true, message: "API key deleted" });
  });

  it("runs the scheduled handler at the URL it gives, under plain npm run dev", async () => {
    const url = /curl "(http:\/\/127\.0\.0\.1:8787\/cdn-cgi\/[^"]+)"/.exec(readme)?.[1];
    expect(url).toBe(`${README_API}/cdn-cgi/local/scheduled`);
    const response = await fetch(url?.replace(README_API, baseUrl) ?? "");
    expect(response.status).toBe(200);
  });

  it("documents every npm script it tells a reader to run", async () => {
    const scripts = JSON.parse(await readFile(`${root}package.json`, "utf8")).scripts;
    const named = [...readme.matchAll(/npm run (?:--silent )?([\w-]+(?::[\w-]+)*)/g)].map(
      (m) => m[1] ?? "",
    );
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((name) => !(name in scripts))).toEqual([]);
  });
});
