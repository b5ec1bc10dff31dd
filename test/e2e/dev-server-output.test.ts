import { connect } from "node:net";
import { beforeAll, describe, expect, it } from "vitest";
import { startDevServer } from "../../scripts/dev-server.mjs";
import { baseUrl } from "./support/http";

// A second `npm run dev` on this machine while the suite's own runs (support/global-setup.ts), as a
// developer with two checkouts would start it: its output, and the devtools ports it chose.

let output = "";
let inspectorPorts: number[] = [];
let inspectorsListened: boolean[] = [];

/** Whether something accepts connections on 127.0.0.1:`port`. */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.end();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });

beforeAll(async () => {
  // Vitest sets NODE_ENV=test, which alone makes wrangler skip Request.cf; a developer's shell
  // does not.
  const server = await startDevServer({ env: { NODE_ENV: undefined } });
  try {
    const devtools =
      /Devtools: the API on port (\d+), the gateway on (\d+), the AI gateway on (\d+)/.exec(
        server.output(),
      );
    inspectorPorts = devtools ? devtools.slice(1).map(Number) : [];
    inspectorsListened = await Promise.all(inspectorPorts.map(listening));
    expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);
    expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
  } finally {
    await server.stop();
  }
  output = server.output();
}, 150_000);

describe("npm run dev beside another one", () => {
  it("gives each Worker's devtools a free port of its own, and says which", () => {
    expect(inspectorPorts).toHaveLength(3);
    expect(new Set(inspectorPorts).size).toBe(3);
    expect(inspectorsListened).toEqual([true, true, true]);
  });

  it("prints the migrations table once, as applied", () => {
    expect(output.match(/Local D1: migrations applied\./g)).toHaveLength(1);
    expect(output.match(/0000_init\.sql/g)).toHaveLength(1);
    expect(output).not.toContain("Migrations to be applied");
  });

  it("prints no Request.cf warning or stack trace (nothing here reads Request.cf)", () => {
    expect(output).not.toContain("Request.cf");
    expect(output).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
  });
});
