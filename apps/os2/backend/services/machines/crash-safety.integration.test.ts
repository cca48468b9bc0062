/**
 * Chaos: the production server (what `pnpm start` runs: backend/entry.ts) is killed with SIGKILL at random
 * points of creates, deletes and restarts, on the embedded PGlite default (50 kills) and on PostgreSQL
 * (20 kills). Guarantees: it starts again after every kill, and once its reconciler has settled there is no
 * orphaned container, no row without its container, and no machine stuck mid-transition or in error.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { createTRPCClient, httpLink } from "@trpc/client";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createScratchDatabase } from "../../testing/harness.ts";
import { containersOfStage, removeContainersOfStage } from "../../testing/machine-fixtures.ts";
import type { AppRouter } from "../../trpc/app-router.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const packageDir = path.resolve(here, "../../..");
const entry = path.join(packageDir, "backend/entry.ts");
const ORIGIN = "http://localhost:3001";
const STUCK_OR_FAILED = ["creating", "starting", "stopping", "deleting", "error"];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

type Server = { child: ChildProcess; port: number; output: () => string };

function startServer(env: Record<string, string>, port: number): Server {
  // Node with tsx's loader, exactly as `pnpm start` runs entry.ts, minus pnpm's and tsx's wrapper
  // processes (which SIGKILL would leave running with the server inside).
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: packageDir,
    env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  return { child, port, output: () => output };
}

async function waitUntilServing(server: Server, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) {
      throw new Error(`the server exited with ${server.child.exitCode}:\n${server.output()}`);
    }
    const ok = await fetch(`http://127.0.0.1:${server.port}/api/health`)
      .then((response) => response.ok)
      .catch(() => false);
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`the server did not answer /api/health within ${timeoutMs} ms:\n${server.output()}`);
}

function kill(child: ChildProcess) {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

function client(port: number, cookie: string) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `http://127.0.0.1:${port}/api/trpc`,
        transformer: superjson,
        headers: () => ({ cookie, origin: ORIGIN }),
      }),
    ],
  });
}

async function signIn(port: number) {
  const headers = { "content-type": "application/json", origin: ORIGIN };
  const base = `http://127.0.0.1:${port}/api/auth`;
  await fetch(`${base}/email-otp/send-verification-otp`, {
    method: "POST",
    headers,
    body: JSON.stringify({ email: "chaos+test@example.com", type: "sign-in" }),
  });
  const response = await fetch(`${base}/sign-in/email-otp`, {
    method: "POST",
    headers,
    body: JSON.stringify({ email: "chaos+test@example.com", otp: "424242" }),
  });
  return response.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
}

beforeAll(() => {
  // entry.ts serves the built SPA and refuses to start without it; CI's fresh clone has not built it yet.
  if (!fs.existsSync(path.join(packageDir, "dist/index.html"))) {
    execFileSync("npx", ["vite", "build", "--config", "app/vite.config.ts", "--logLevel", "error"], {
      cwd: packageDir,
      stdio: "inherit",
    });
  }
}, 120_000);

describe.each([
  { database: "PGlite", rounds: 50 },
  { database: "PostgreSQL", rounds: 20 },
] as const)("crash safety of the production server on $database", ({ database, rounds }) => {
  const stage = `local-chaos-${Math.random().toString(36).slice(2, 8)}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "os2-chaos-"));
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
  let server: Server | undefined;

  afterAll(async () => {
    if (server) await kill(server.child);
    await removeContainersOfStage(stage);
    await scratch?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it(`starts again after each of ${rounds} kills during creates, deletes and restarts, and settles with no orphan, dangling row or stuck machine`, async () => {
    if (database === "PostgreSQL") scratch = await createScratchDatabase();
    const env: Record<string, string> = {
      APP_STAGE: stage,
      OS2_DATA_DIR: dataDir,
      ENCRYPTION_SECRET: "chaos-encryption-secret-0123456789",
      BETTER_AUTH_SECRET: "chaos-auth-secret-0123456789-abcdef",
      OS2_PUBLIC_URL: ORIGIN,
      OTP_RATE_LIMIT_PER_MINUTE: "1000",
      OS2_MAX_RUNNING_MACHINES_PER_ORG: "100",
      RECONCILE_INTERVAL_MS: "500",
      LOG_LEVEL: "warn",
      ...(scratch ? { DATABASE_URL: scratch.url } : {}),
    };
    const port = await freePort();
    server = startServer(env, port);
    await waitUntilServing(server);
    const cookie = await signIn(port);
    const api = client(port, cookie);
    const org = await api.organization.create.mutate({ name: "Chaos" });
    const project = await api.project.create.mutate({ organizationSlug: org.slug, name: "Chaos" });
    const scope = { organizationSlug: org.slug, projectSlug: project.slug };

    const counts = { create: 0, delete: 0, restart: 0 };
    const started = Date.now();
    for (let round = 0; round < rounds; round++) {
      const machines = await api.machine.list.query({ ...scope, includeArchived: true }).catch(() => []);
      const live = machines.filter((m) => m.desiredState !== "deleted");
      const action = live.length === 0 ? "create" : (["create", "delete", "restart"] as const)[round % 3];
      const target = live[round % Math.max(1, live.length)]?.id ?? "";
      const operation =
        action === "create"
          ? api.machine.create.mutate({ ...scope, name: `chaos-${round}`, type: "local-docker" })
          : api.machine[action ?? "delete"].mutate({ ...scope, machineId: target });
      counts[action ?? "delete"] += 1;
      operation.catch(() => undefined);
      await sleep(Math.random() * 1_500);
      await kill(server.child);
      server = startServer(env, port);
      await waitUntilServing(server);
    }

    const killing = Date.now() - started;
    // Settling: the reconciler of the last start finishes whatever each kill interrupted.
    const deadline = Date.now() + 180_000;
    let rows = await api.machine.list.query({ ...scope, includeArchived: true });
    let containers = await containersOfStage(stage);
    const settled = () =>
      rows.every((row) => row.observedState === row.desiredState) &&
      containers.length === rows.length &&
      containers.every((c) => c.State === "running" || c.State === "exited");
    while (!settled() && Date.now() < deadline) {
      await sleep(500);
      rows = await api.machine.list.query({ ...scope, includeArchived: true });
      containers = await containersOfStage(stage);
    }
    console.info(
      `chaos on ${database}: ${rounds} kills (${counts.create} creates, ${counts.delete} deletes, ` +
        `${counts.restart} restarts) in ${Math.round(killing / 1000)} s, settled in ` +
        `${Math.round((Date.now() - started - killing) / 1000)} s: ${rows.length} machines, ` +
        `${containers.length} containers`,
    );

    const rowIds = rows.map((row) => row.id).sort();
    const containerMachineIds = containers.map((c) => c.Labels["os2.machine-id"]).sort();
    expect(containerMachineIds, "no orphans and no rows without a container").toEqual(rowIds);
    expect(rows.filter((row) => STUCK_OR_FAILED.includes(row.observedState))).toEqual([]);
    expect(rows.every((row) => row.externalId)).toBe(true);
    expect(counts.create).toBeGreaterThan(0);
  }, 900_000);
});
