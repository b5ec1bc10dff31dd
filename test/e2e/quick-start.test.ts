import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { baseUrl, gatewayUrl } from "./support/http";

const exec = promisify(execFile);
const root = new URL("../../", import.meta.url).pathname;
const read = (path: string) => readFile(join(root, path), "utf8");

const readme = await read("README.md");
const docPages = (await readdir(join(root, "docs")))
  .filter((name) => name.endsWith(".md"))
  .map((name) => `docs/${name}`);
/** Every page a newcomer reads: the README, CONTRIBUTING and docs/. */
const pages = new Map<string, string>(
  await Promise.all(
    ["README.md", "CONTRIBUTING.md", ...docPages].map(
      async (path) => [path, await read(path)] as [string, string],
    ),
  ),
);
const page = (path: string) => pages.get(path) ?? "";

// Where the pages say npm run dev listens; this suite's npm run dev listens on free ports.
const DOCUMENTED_API = "http://127.0.0.1:8787";
const DOCUMENTED_GATEWAY = "http://127.0.0.1:8788";

/** The sh blocks a page marks as run by this file, in order, each right after its marker. */
function markedBlocks(text: string): string[] {
  const marked = /<!--[^>]*test\/e2e\/quick-start\.test\.ts[^>]*-->\n```sh\n([\s\S]*?)```/g;
  return [...text.matchAll(marked)].map((m) => m[1] ?? "");
}

/** Runs blocks as one pasted shell session, pointed at this run's servers; stdout's lines. */
async function paste(blocks: string[]): Promise<string[]> {
  const script = blocks
    .join("\n")
    .replace(`API=${DOCUMENTED_API}\n`, `API=${baseUrl}\n`)
    .replace(`GW=${DOCUMENTED_GATEWAY}\n`, `GW=${gatewayUrl}\n`);
  const { stdout } = await exec("bash", ["-e", "-o", "pipefail", "-c", script], { cwd: root });
  return stdout.trim().split("\n");
}

const readmeBlocks = markedBlocks(readme);
const uuid = expect.stringMatching(
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
);
const instant = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
/** The README's blocks print one JSON answer a line, this many. */
const README_ANSWERS = 10;

describe("the README, as a newcomer pastes it", () => {
  it("marks its quick start's blocks: set-up, storage key, AI key, verification, deletion", () => {
    expect(readmeBlocks).toHaveLength(5);
    expect(readmeBlocks[0]).toContain(`API=${DOCUMENTED_API}\n`);
  });

  it("runs the quick start as pasted: every key answer as shown, both verifications VALID", async () => {
    const lines = await paste(readmeBlocks);
    expect(lines).toHaveLength(README_ANSWERS);
    const [
      created,
      listed,
      aiCreated,
      aiUpdated,
      rolled,
      s3Verified,
      aiVerified,
      deleted,
      aiDeleted,
      revoked,
    ] = lines.map((line) => JSON.parse(line));

    expect(created).toEqual({
      success: true,
      id: uuid,
      key: expect.stringMatching(/^FBAK[A-Z0-9]{16}$/),
      secret: expect.stringMatching(/^fbsk_[0-9A-Za-z]{35}$/),
    });
    expect(listed).toEqual({
      success: true,
      keys: [
        {
          id: created.id,
          name: "backup-job",
          accessType: "READ",
          key: created.key,
          createdAt: instant,
          createdBy: "alice",
          lastUsedAt: null,
          usage24h: 0,
          status: "ACTIVE",
          expiresAt: null,
          previousSecretExpiresAt: null,
          disabledReason: null,
          leakedAt: null,
          leakSource: null,
          leakUrl: null,
          ratelimit: null,
        },
      ],
      nextCursor: null,
    });
    expect(JSON.stringify(listed)).not.toContain(created.secret);

    expect(aiCreated).toEqual({
      success: true,
      id: uuid,
      key: expect.stringMatching(/^FB_AI_[0-9A-Za-z]{24}$/),
      secret: expect.stringMatching(/^fbai_sk_[0-9A-Za-z]{50}$/),
    });
    expect(aiUpdated).toEqual({ success: true, message: "AI API key updated" });
    expect(rolled).toEqual({
      success: true,
      id: aiCreated.id,
      key: aiCreated.key,
      secret: expect.stringMatching(/^fbai_sk_[0-9A-Za-z]{50}$/),
      previousSecretExpiresAt: instant,
    });
    expect(rolled.secret).not.toBe(aiCreated.secret);
    // gracePeriodSeconds 3600: the old secret works for an hour from the roll.
    const graceLeft = Date.parse(rolled.previousSecretExpiresAt) - Date.now();
    expect(graceLeft).toBeGreaterThan(3_500_000);
    expect(graceLeft).toBeLessThanOrEqual(3_600_000);

    // The signed GET verifies against the storage key, the rolled secret against the AI key.
    expect(s3Verified).toMatchObject({
      success: true,
      valid: true,
      code: "VALID",
      keyId: created.id,
      key: created.key,
      repoId: uuid,
      workspaceId: uuid,
      accessType: "READ",
    });
    expect(aiVerified).toMatchObject({
      success: true,
      valid: true,
      code: "VALID",
      keyId: aiCreated.id,
      key: aiCreated.key,
      repoId: s3Verified.repoId,
      workspaceId: s3Verified.workspaceId,
      aiType: "OPENAI",
    });
    for (const answer of [s3Verified, aiVerified]) {
      expect(JSON.stringify(answer)).not.toContain(created.secret);
      expect(JSON.stringify(answer)).not.toContain(rolled.secret);
    }

    expect(deleted).toEqual({ success: true, message: "API key deleted" });
    expect(aiDeleted).toEqual({ success: true, message: "AI API key deleted" });
    expect(revoked).toMatchObject({ success: true, valid: false, code: "REVOKED" });

    // The answers the README's comments promise are the ones given.
    for (const answer of [aiUpdated, deleted, aiDeleted]) {
      expect(readme).toContain(JSON.stringify(answer));
    }
  }, 120_000);

  it("runs the S3 gateway page's curl block after the quick start's set-up, against npm run dev's gateway", async () => {
    const gatewayBlocks = markedBlocks(page("docs/s3-gateway.md"));
    expect(gatewayBlocks).toHaveLength(1);
    expect(gatewayBlocks[0]).toContain(`GW=${DOCUMENTED_GATEWAY}\n`);

    // The README's first block makes the API, AUTH, JSON, field and REPO the page uses.
    const lines = await paste([readmeBlocks[0] ?? "", ...gatewayBlocks]);
    expect(lines).toHaveLength(4);
    const [put, got, listed, removed] = lines;
    expect(put).toBe("200");
    expect(got).toBe("hello from the gateway");
    expect(listed).toContain("<ListBucketResult");
    expect(listed).toContain("<Key>notes/hello.txt</Key>");
    expect(removed).toBe("204");
  }, 120_000);

  it("runs the scheduled handler at the URL the deploying page gives, under plain npm run dev", async () => {
    const url = /curl "(http:\/\/127\.0\.0\.1:8787\/cdn-cgi\/[^"]+)"/.exec(
      page("docs/deploying.md"),
    )?.[1];
    expect(url).toBe(`${DOCUMENTED_API}/cdn-cgi/local/scheduled`);
    const response = await fetch(url?.replace(DOCUMENTED_API, baseUrl) ?? "");
    expect(response.status).toBe(200);
  });

  it("documents every npm script it tells a reader to run, on every page", async () => {
    const scripts = JSON.parse(await read("package.json")).scripts;
    const named = [...pages.values()].flatMap((text) =>
      [...text.matchAll(/npm run (?:--silent )?([\w-]+(?::[\w-]+)*)/g)].map((m) => m[1] ?? ""),
    );
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((name) => !(name in scripts))).toEqual([]);
  });

  it("links only to files and headings that exist, from every page", () => {
    const broken: string[] = [];
    for (const [path, text] of pages) {
      // Code blocks hold examples, not links.
      const prose = text.replace(/```[\s\S]*?```/g, "");
      for (const [, target = ""] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const [file = "", anchor] = target.split("#");
        const linked = file ? join(dirname(path), file) : path;
        if (!existsSync(join(root, linked))) {
          broken.push(`${path} → ${target}: no such file`);
          continue;
        }
        if (anchor && linked.endsWith(".md")) {
          const headings = headingAnchors(
            pages.get(linked) ?? readFileSync(join(root, linked), "utf8"),
          );
          if (!headings.has(anchor)) broken.push(`${path} → ${target}: no such heading`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});

/** The anchors GitHub gives a Markdown page's headings. */
function headingAnchors(text: string): Set<string> {
  const prose = text.replace(/```[\s\S]*?```/g, "");
  return new Set(
    [...prose.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      (m[1] ?? "")
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, "")
        .replace(/ /g, "-"),
    ),
  );
}
