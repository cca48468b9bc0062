/**
 * `pnpm start` runs built JavaScript: `pnpm build` bundles backend/entry.ts into dist-server/entry.js, and
 * plain Node (no tsx loader) starts it on a fresh data dir, applies the migrations from the bundle's copy,
 * answers /api/health, signs a user in and serves the SPA. A start that cannot finish (bad configuration,
 * a port in use) ends the process with a reason instead of leaving it up half started.
 *
 * The Daytona SDK takes about a second to import, so the server imports it only when a configured Daytona
 * provider first needs it: a server without Daytona never loads it, one with Daytona loads it from
 * node_modules (the bundle keeps it external) and drives the Daytona stand-in through it. Which modules a
 * server loaded is read from a module-resolution hook (`--import` of a plain JavaScript file) that writes
 * every resolved URL to a file.
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type DaytonaStandin, startDaytonaStandin } from "../test-support/daytona-standin/index.ts";
import { docker } from "./testing/machine-fixtures.ts";
import {
  ensureSpaBuilt,
  freePort,
  killServer,
  productionEnv,
  type ProductionServer,
  signInTo,
  waitUntilServing,
} from "./testing/production-server.ts";

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bundle = path.join(packageDir, "dist-server/entry.js");
const DAYTONA_SDK = "/node_modules/@daytonaio/sdk/";
let tmp = "";
const servers: ProductionServer[] = [];
let standin: DaytonaStandin | undefined;

beforeAll(() => {
  ensureSpaBuilt();
  execFileSync(process.execPath, [fileURLToPath(import.meta.resolve("tsx/cli")), "scripts/build-server.ts"], {
    cwd: packageDir,
    stdio: "inherit",
  });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "os2-built-server-"));
  // Runs in Node's loader thread: records every module the server resolves, one URL a line.
  fs.writeFileSync(
    path.join(tmp, "record-modules.mjs"),
    [
      'import fs from "node:fs";',
      "export async function resolve(specifier, context, next) {",
      "  const result = await next(specifier, context);",
      "  fs.appendFileSync(process.env.OS2_TEST_MODULE_LOG, result.url + '\\n');",
      "  return result;",
      "}",
    ].join("\n"),
  );
  fs.writeFileSync(
    path.join(tmp, "register.mjs"),
    'import { register } from "node:module";\nregister("./record-modules.mjs", import.meta.url);\n',
  );
});

afterAll(async () => {
  for (const server of servers) await killServer(server);
  await standin?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The bundle under plain Node on a fresh data dir; `modules()` lists what it has resolved so far. */
async function startBuiltServer(name: string, extraEnv: Record<string, string> = {}) {
  const dataDir = path.join(tmp, `data-${name}`);
  const moduleLog = path.join(tmp, `modules-${name}.txt`);
  fs.writeFileSync(moduleLog, "");
  const port = await freePort();
  // No tsx: the bundle must stand on its own (npm packages from the bundle or node_modules, nothing else).
  const child = spawn(process.execPath, ["--import", path.join(tmp, "register.mjs"), bundle], {
    cwd: packageDir,
    env: {
      ...process.env,
      ...productionEnv({ OS2_DATA_DIR: dataDir, DATABASE_URL: "", ...extraEnv }),
      PORT: String(port),
      HOST: "127.0.0.1",
      NODE_OPTIONS: "",
      OS2_TEST_MODULE_LOG: moduleLog,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const collect = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-50_000));
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const server: ProductionServer = { child, port, url: `http://127.0.0.1:${port}`, output: () => output, exited };
  servers.push(server);
  await waitUntilServing(server, 45_000);
  const modules = () => fs.readFileSync(moduleLog, "utf8").split("\n").filter(Boolean);
  return { server, modules };
}

/** Starts the bundle and waits for it to exit by itself; answers its exit code and output. */
async function runUntilExit(port: number, extraEnv: Record<string, string>) {
  const child = spawn(process.execPath, [bundle], {
    cwd: packageDir,
    env: {
      ...process.env,
      ...productionEnv({ OS2_DATA_DIR: path.join(tmp, "data-refused"), DATABASE_URL: "", ...extraEnv }),
      PORT: String(port),
      HOST: "127.0.0.1",
      NODE_OPTIONS: "",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 45_000);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(timer);
  return { code, output };
}

async function eventually(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("the built server (pnpm start)", () => {
  it("starts under plain Node from dist-server/entry.js on a fresh data dir and answers health, sign-in and the SPA, without ever loading the Daytona SDK", async () => {
    expect(fs.existsSync(path.join(packageDir, "dist-server/migrations/meta/_journal.json"))).toBe(true);
    const { server, modules } = await startBuiltServer("plain");

    const health = await fetch(`${server.url}/api/health`);
    expect(await health.json()).toMatchObject({ status: "ok" });
    // Sign-in writes users and sessions: the migrations ran from dist-server/migrations.
    expect(await signInTo(server.url, "built+test@example.com")).toContain("=");
    const spa = await fetch(`${server.url}/orgs`);
    expect(spa.status).toBe(200);
    expect(await spa.text()).toContain('<div id="root">');
    expect(server.output()).toContain("listening on");

    // A reconcile pass has run (it asks every provider, Daytona's unconfigured one too), and so has the
    // status check; the modules resolved by now include the embedded database but not the Daytona SDK.
    await eventually(() => server.output().includes("reconciler leader"), "the first reconcile pass");
    expect((await fetch(`${server.url}/api/status`)).status).toBe(200);
    expect(modules().some((url) => url.includes("/node_modules/@electric-sql/pglite/"))).toBe(true);
    expect(modules().filter((url) => url.includes(DAYTONA_SDK))).toEqual([]);
  });

  it("does not stay up half started: a start that fails, or a port that is taken, ends the process with a reason", async () => {
    const misconfigured = await runUntilExit(await freePort(), { APP_STAGE: "prd", ENCRYPTION_SECRET: "" });
    expect(misconfigured.code).toBe(1);
    expect(misconfigured.output).toContain("os2 could not start: ENCRYPTION_SECRET must be set");

    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const refused = await runUntilExit(port, {});
      expect(refused.code).toBe(1);
      expect(refused.output).toContain(`cannot listen on 127.0.0.1:${port}`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it("with Daytona configured, loads the SDK from node_modules on first use and lists sandboxes through it", async () => {
    const apiKey = "built-server-daytona-key";
    standin = await startDaytonaStandin({
      docker,
      image: process.env.LOCAL_DOCKER_IMAGE_NAME ?? "iterate-sandbox:local",
      apiKey,
    });
    const { server, modules } = await startBuiltServer("daytona", {
      DAYTONA_API_KEY: apiKey,
      DAYTONA_API_URL: standin.apiUrl,
    });
    // The reconciler lists each provider's machines: for Daytona that is the SDK's GET /api/sandbox.
    await eventually(
      () => standin?.requests.some((r) => r.method === "GET" && r.path.startsWith("/api/sandbox")) ?? false,
      "the SDK to list sandboxes",
    );
    expect(modules().some((url) => url.includes(DAYTONA_SDK))).toBe(true);
    expect(server.output()).not.toContain("a reconcile pass failed");
  });
});
