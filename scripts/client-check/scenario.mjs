// What a user of the installed package does, run both in Node and in a Worker. It imports the
// package by its name, so it only resolves inside the temp project the tarball is installed in.
import { FlashgateClient, FlashgateError } from "@flashgate/client";

function check(condition, what) {
  if (!condition) throw new Error(`client check failed: ${what}`);
}

export async function run(baseUrl, accessToken) {
  const client = new FlashgateClient({ accessToken, baseUrl });

  const created = await client.apiKeys.create("r1", { name: "CI Bot", access: "READ" });
  check(created.success && created.secret === "s3cr3t", "apiKeys.create returns the new key");

  const listed = await client.apiKeys.list("r1");
  check(listed.keys.length === 1 && listed.keys[0].accessType === "READ", "apiKeys.list");

  try {
    await client.apiKeys.list("forbidden");
    check(false, "a 403 throws");
  } catch (error) {
    check(error instanceof FlashgateError, "a 403 throws a FlashgateError");
    check(error.status === 403 && error.code === "FORBIDDEN", "FlashgateError status and code");
    check(error.message === "Insufficient permissions", "FlashgateError message");
    check(error.requestId === "req-403", "FlashgateError requestId");
  }
  return "ok";
}
