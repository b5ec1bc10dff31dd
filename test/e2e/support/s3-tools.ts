import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, relative } from "node:path";
import {
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { expect } from "vitest";
import { gatewayUrl } from "./http";
import { apiAs, credentialsOf, type StorageKey, s3ClientFor } from "./s3-gateway";

// The S3 tools people already use (Debian's AWS CLI, s3cmd, rclone, boto3), run against the
// gateway as a new user would: each with its own temporary HOME and config file, nothing from the
// machine's environment that could change what it does, and default settings apart from the
// endpoint and path-style addressing. .ci/run installs the tools when they are missing and sets
// FLASHGATE_REQUIRE_S3_TOOLS=1, so CI fails rather than skips.

/** What the tools ask of the gateway, by S3's operation names, where issue 23 adds it. */
export type GatewayOperation =
  | "ListObjects"
  | "ListBuckets"
  | "CreateBucket"
  | "GetBucketLocation"
  | "GetBucketVersioning"
  | "GetObjectTagging"
  | "DeleteObjects"
  | "CopyObject"
  | "UploadPartCopy"
  | "ListParts"
  | "ListMultipartUploads"
  | "SignedStreaming";

/**
 * Operations the gateway does not serve yet (issue 23). A journey that needs one is skipped,
 * saying so; delete an operation from this list when the gateway serves it, and its journeys
 * run. `FLASHGATE_S3_TOOLS_UNGATED=1` runs every journey anyway, to see where they stand.
 */
export const NOT_YET_SERVED: ReadonlySet<GatewayOperation> = new Set<GatewayOperation>([]);

const ungated = Boolean(process.env.FLASHGATE_S3_TOOLS_UNGATED);

/** True (skip the journey, with the reason printed) while it needs an operation not yet served. */
export function notYetServed(...needs: GatewayOperation[]): boolean {
  const missing = needs.filter((operation) => NOT_YET_SERVED.has(operation));
  if (missing.length === 0 || ungated) return false;
  console.warn(
    `S3 tools: a journey is skipped until the gateway serves ${missing.join(", ")} ` +
      "(NOT_YET_SERVED in test/e2e/support/s3-tools.ts)",
  );
  return true;
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to its end (killed after `timeoutMs`), with `input` on its stdin. A tool that
 * hangs must fail the test, not the whole run.
 */
export function runProgram(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; input?: string | Buffer; timeoutMs?: number },
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${options.timeoutMs ?? 60_000} ms)`;
      child.kill("SIGKILL");
    }, options.timeoutMs ?? 60_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on("error", () => {}); // a tool may exit without reading its input
    child.stdin.end(options.input ?? "");
  });
}

/**
 * The machine's environment without what would change a tool's behaviour: every AWS_* variable
 * (some machines set AWS_CA_BUNDLE, which stops rclone from starting), rclone's and s3cmd's own,
 * and proxies (the gateway is on 127.0.0.1); HOME and the XDG directories point into `home`.
 */
function cleanEnvironment(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(AWS_|RCLONE_|S3CMD_|BOTO_)|_proxy$/i.test(name)) continue;
    env[name] = value;
  }
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_CACHE_HOME: join(home, ".cache"),
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
  };
}

/**
 * Where a program is: the distribution's own first (`/usr/bin`, then `/usr/local/bin` and
 * Homebrew's), then PATH without version managers' shims (a pyenv `aws` or `python3` shim can
 * take seconds to start, or be another version).
 */
function candidatesFor(program: string): string[] {
  const fixed = ["/usr/bin", "/usr/local/bin", "/opt/homebrew/bin"];
  const onPath = (process.env.PATH ?? "").split(delimiter).filter((dir) => !/shims/.test(dir));
  return [...new Set([...fixed, ...onPath])]
    .filter((dir) => dir !== "")
    .map((dir) => join(dir, program))
    .filter((path) => existsSync(path));
}

export type ToolName = "aws" | "s3cmd" | "rclone" | "boto3";

/** How to find each tool and ask its version; boto3 is a library, asked of its python3. */
const TOOLS: Record<ToolName, { program: string; versionArgs: string[]; install: string }> = {
  aws: { program: "aws", versionArgs: ["--version"], install: "apt-get install -y awscli" },
  s3cmd: { program: "s3cmd", versionArgs: ["--version"], install: "apt-get install -y s3cmd" },
  rclone: { program: "rclone", versionArgs: ["version"], install: "apt-get install -y rclone" },
  boto3: {
    program: "python3",
    versionArgs: ["-c", "import boto3, botocore; print('boto3', boto3.__version__)"],
    install: "apt-get install -y python3-boto3",
  },
};

export interface Tool {
  name: ToolName;
  /** The program to run: the tool itself, or for boto3 the python3 that imports it. */
  path: string;
  version: string;
}

/**
 * The tool as this machine has it, or undefined (its tests skip, saying why). With
 * FLASHGATE_REQUIRE_S3_TOOLS=1 (CI) a missing tool throws instead: its tests fail.
 */
export async function findTool(name: ToolName): Promise<Tool | undefined> {
  const { program, versionArgs, install } = TOOLS[name];
  const env = cleanEnvironment(await mkdtemp(join(tmpdir(), `flashgate-${name}-probe-`)));
  const tried: string[] = [];
  for (const path of candidatesFor(program)) {
    const ran = await runProgram(path, versionArgs, { env, timeoutMs: 60_000 }).catch(
      (error: Error) => ({ code: -1, stdout: "", stderr: error.message }),
    );
    if (ran.code === 0) {
      return { name, path, version: `${ran.stdout}${ran.stderr}`.trim().split("\n")[0] ?? "" };
    }
    tried.push(`${path}: ${ran.stderr.trim().split("\n").pop()}`);
  }
  const reason = `no working ${name} (${tried.join("; ") || `no ${program} found`}); ${install}`;
  if (process.env.FLASHGATE_REQUIRE_S3_TOOLS) throw new Error(reason);
  console.warn(`S3 tools: the ${name} journeys are skipped: ${reason}`);
  return undefined;
}

/** A repository of a new user, and a WRITE key for it. */
export interface Bucket {
  /** The bucket: the repo's id. */
  bucket: string;
  key: StorageKey;
}

/** A new user, workspace, repo and WRITE key, made through the API. */
export async function newBucket(label: string): Promise<Bucket> {
  const owner = await apiAs(`${label}-user`);
  const bucket = await owner.newRepo(`${label}-files`);
  return { bucket, key: await owner.newKey(bucket, "WRITE") };
}

/** Someone with a repository and a WRITE key for it, set up for one tool. */
export interface ToolUser extends Bucket {
  /** The gateway, e.g. http://127.0.0.1:8788. */
  endpoint: string;
  /** The tool's HOME, holding its config. */
  home: string;
  /** A directory for local files. */
  work: string;
  /** The environment the tool runs in (cleaned; HOME is `home`). */
  env: NodeJS.ProcessEnv;
  /** Runs the tool (or, for boto3, python3) with these arguments in `work`. */
  run(args: string[], options?: { input?: string | Buffer; timeoutMs?: number }): Promise<Ran>;
  /** Removes `home`. */
  remove(): Promise<void>;
}

/**
 * A new user, repo and WRITE key made through the API, and a fresh HOME with the tool's config
 * file, as its documentation says to write it. Nothing else is set: the tool's defaults apply.
 */
export async function newToolUser(tool: Tool): Promise<ToolUser> {
  const { bucket, key } = await newBucket(tool.name);
  const home = await mkdtemp(join(tmpdir(), `flashgate-${tool.name}-home-`));
  const work = join(home, "work");
  await mkdir(work, { recursive: true });
  const env = cleanEnvironment(home);
  const user: ToolUser = {
    bucket,
    key,
    endpoint: gatewayUrl,
    home,
    work,
    env,
    run: (args, options = {}) => runProgram(tool.path, args, { env, cwd: work, ...options }),
    remove: () => rm(home, { recursive: true, force: true }),
  };
  await writeConfig[tool.name](user);
  return user;
}

const hostOf = (url: string) => new URL(url).host;

const writeConfig: Record<ToolName, (user: ToolUser) => Promise<void>> = {
  // `aws configure`'s two files. The CLI has no endpoint setting before 2.13, so every command
  // gets --endpoint-url; path-style is what the gateway serves.
  aws: (user) => writeAwsFiles(user),
  // boto3 reads the same files; the endpoint is given to boto3.client().
  boto3: (user) => writeAwsFiles(user),
  // `s3cmd --configure`'s answers: the gateway as host_base and host_bucket (no %(bucket)s, so
  // path-style), plain HTTP, SigV4.
  s3cmd: (user) =>
    writeFileIn(
      join(user.home, ".s3cfg"),
      [
        "[default]",
        `access_key = ${user.key.key}`,
        `secret_key = ${user.key.secret}`,
        `host_base = ${hostOf(user.endpoint)}`,
        `host_bucket = ${hostOf(user.endpoint)}`,
        "use_https = False",
        "signature_v2 = False",
        "",
      ].join("\n"),
    ),
  // `rclone config` for an S3 service it does not know (provider Other, which is path-style).
  rclone: (user) =>
    writeFileIn(
      join(user.home, ".config", "rclone", "rclone.conf"),
      [
        `[${RCLONE_REMOTE}]`,
        "type = s3",
        "provider = Other",
        "env_auth = false",
        `access_key_id = ${user.key.key}`,
        `secret_access_key = ${user.key.secret}`,
        `endpoint = ${user.endpoint}`,
        "",
      ].join("\n"),
    ),
};

/** The name of the rclone remote newToolUser configures. */
export const RCLONE_REMOTE = "flashgate";

async function writeAwsFiles(user: ToolUser) {
  await writeFileIn(
    join(user.home, ".aws", "credentials"),
    `[default]\naws_access_key_id = ${user.key.key}\naws_secret_access_key = ${user.key.secret}\n`,
  );
  await writeFileIn(
    join(user.home, ".aws", "config"),
    "[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n",
  );
}

async function writeFileIn(path: string, contents: string | Uint8Array) {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, contents);
}

/** The run succeeded (exit code 0); otherwise the failure shows what the tool printed. */
export function expectSuccess(ran: Ran, what: string): Ran {
  expect(ran.code, `${what} exited ${ran.code}:\n${ran.stderr}\n${ran.stdout}`).toBe(0);
  return ran;
}

export const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

export const MiB = 1024 * 1024;

/** Writes `size` random bytes to `path`; their SHA-256 back. */
export async function writeRandomFile(path: string, size: number): Promise<string> {
  const bytes = randomBytes(size);
  await writeFileIn(path, bytes);
  return sha256(bytes);
}

export async function sha256OfFile(path: string): Promise<string> {
  return sha256(await readFile(path));
}

/**
 * Files for sync journeys: nested folders, spaces, `+`, `&`, `%`, `=`, accents, CJK and an emoji
 * (all NFC), each with contents of its own.
 */
export const NESTED_TREE: Record<string, string> = {
  "top.txt": "at the top\n",
  "deep/er/still/leaf.txt": "three folders down\n",
  "with space/a b+c&d=e.txt": "spaces, plus, ampersand, equals\n",
  "100% done.txt": "a percent sign\n",
  "ünïcödé 日本/ファイル é.txt": "accents and CJK\n",
  "emoji 🚀/launch.bin": "four-byte UTF-8\n",
};

/** Writes `files` (relative path → contents) under `dir`. */
export async function writeTree(dir: string, files: Record<string, string>) {
  for (const [path, contents] of Object.entries(files))
    await writeFileIn(join(dir, path), contents);
}

/** Every file under `dir`: relative path (with /) → contents. */
export async function readTree(dir: string): Promise<Record<string, string>> {
  const tree: Record<string, string> = {};
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    tree[relative(dir, path).split("\\").join("/")] = await readFile(path, "utf8");
  }
  return tree;
}

/**
 * What the gateway holds under `prefix`, read with the AWS SDK for JavaScript (not the tool under
 * test): key → contents. A tool that stored names its own way (double-encoded, say) and read them
 * back the same way would pass its own round trip; it does not pass this.
 */
export async function objectsUnder(user: Bucket, prefix: string): Promise<Record<string, string>> {
  const { client } = s3ClientFor(credentialsOf(user.key));
  const objects: Record<string, string> = {};
  let token: string | undefined;
  for (let page = 0; page < 20; page++) {
    const listed = await client.send(
      new ListObjectsV2Command({ Bucket: user.bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const { Key } of listed.Contents ?? []) {
      const got = await client.send(new GetObjectCommand({ Bucket: user.bucket, Key }));
      objects[(Key ?? "").slice(prefix.length)] = (await got.Body?.transformToString()) ?? "";
    }
    token = listed.NextContinuationToken;
    if (!token) return objects;
  }
  throw new Error(`more than 20 pages under ${prefix}`);
}

/** The keys the gateway holds under `prefix` (AWS SDK for JavaScript), sorted. */
export async function keysUnder(user: Bucket, prefix: string): Promise<string[]> {
  const { client } = s3ClientFor(credentialsOf(user.key));
  const listed = await client.send(
    new ListObjectsV2Command({ Bucket: user.bucket, Prefix: prefix }),
  );
  expect(listed.IsTruncated, "keysUnder reads one page of 1000").toBeFalsy();
  return (listed.Contents ?? []).map(({ Key }) => Key ?? "").sort();
}

/** The SHA-256 of an object as the gateway serves it (AWS SDK for JavaScript). */
export async function objectSha256(user: Bucket, key: string): Promise<string> {
  const { client } = s3ClientFor(credentialsOf(user.key));
  const got = await client.send(new GetObjectCommand({ Bucket: user.bucket, Key: key }));
  return sha256(await (got.Body as any).transformToByteArray());
}

/** HeadObject (AWS SDK for JavaScript): what the gateway says about an object. */
export async function headObject(user: Bucket, key: string): Promise<HeadObjectCommandOutput> {
  const { client } = s3ClientFor(credentialsOf(user.key));
  return client.send(new HeadObjectCommand({ Bucket: user.bucket, Key: key }));
}

/**
 * Puts an object with the AWS SDK for JavaScript: setting the scene for a journey whose subject
 * is something else (reading, listing, deleting), without another slow start of the tool.
 */
export async function putObject(user: Bucket, key: string, body: string | Uint8Array) {
  const { client } = s3ClientFor(credentialsOf(user.key));
  await client.send(new PutObjectCommand({ Bucket: user.bucket, Key: key, Body: body }));
}

/** Whether the gateway holds `key` (HeadObject: 404 means it does not). */
export async function exists(user: Bucket, key: string): Promise<boolean> {
  try {
    await headObject(user, key);
    return true;
  } catch (error: any) {
    if (error.$metadata?.httpStatusCode === 404) return false;
    throw error;
  }
}
