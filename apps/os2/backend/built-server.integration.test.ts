/**
 * `pnpm start` runs built JavaScript: `pnpm build` bundles backend/entry.ts into dist-server/entry.js, and
 * plain Node (no tsx loader) starts it on a fresh data dir, applies the migrations from the bundle's copy,
 * answers /api/health, signs a user in and serves the SPA.
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

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
let server: ProductionServer | undefined;
let dataDir = "";

beforeAll(() => {
  ensureSpaBuilt();
  execFileSync(process.execPath, [fileURLToPath(import.meta.resolve("tsx/cli")), "scripts/build-server.ts"], {
    cwd: packageDir,
    stdio: "inherit",
  });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "os2-built-server-"));
});

afterAll(async () => {
  await killServer(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("the built server (pnpm start)", () => {
  it("starts under plain Node from dist-server/entry.js on a fresh data dir and answers health, sign-in and the SPA", async () => {
    const bundle = path.join(packageDir, "dist-server/entry.js");
    expect(fs.existsSync(path.join(packageDir, "dist-server/migrations/meta/_journal.json"))).toBe(true);
    const port = await freePort();
    // No --import tsx: the bundle must stand on its own (npm packages from node_modules, nothing else).
    const child = spawn(process.execPath, [bundle], {
      cwd: packageDir,
      env: {
        ...process.env,
        ...productionEnv({ OS2_DATA_DIR: dataDir, DATABASE_URL: "" }),
        PORT: String(port),
        HOST: "127.0.0.1",
        NODE_OPTIONS: "",
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
    server = { child, port, url: `http://127.0.0.1:${port}`, output: () => output, exited };
    await waitUntilServing(server, 45_000);

    const health = await fetch(`${server.url}/api/health`);
    expect(await health.json()).toMatchObject({ status: "ok" });
    // Sign-in writes users and sessions: the migrations ran from dist-server/migrations.
    expect(await signInTo(server.url, "built+test@example.com")).toContain("=");
    const spa = await fetch(`${server.url}/orgs`);
    expect(spa.status).toBe(200);
    expect(await spa.text()).toContain('<div id="root">');
    expect(output).toContain("listening on");
  });
});
