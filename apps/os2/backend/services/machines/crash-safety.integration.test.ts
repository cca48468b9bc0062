/**
 * Chaos: the server process is killed (SIGKILL) at random points during 20 creates and deletes. After a
 * restart and one reconcile pass there must be no orphaned container and no dangling row: every row has
 * its container, every os2 container has its row, and nothing is stuck half-created or half-deleted.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { createTRPCClient, httpLink } from "@trpc/client";
import postgres from "postgres";
import superjson from "superjson";
import { afterAll, describe, expect, it } from "vitest";

import { containersOfStage, removeContainersOfStage } from "../../testing/machine-fixtures.ts";
import type { AppRouter } from "../../trpc/app-router.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const serverScript = path.resolve(here, "../../testing/chaos-server.ts");
const packageDir = path.resolve(here, "../../..");
const stage = `chaos-${Math.random().toString(36).slice(2, 8)}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "os2-chaos-"));
const ROUNDS = 20;

function startServer(extraEnv: Record<string, string> = {}) {
  // node itself with tsx's loader (not the tsx CLI, which forks a child that SIGKILL would leave running).
  const child = spawn(process.execPath, ["--import", "tsx", serverScript], {
    cwd: packageDir,
    env: {
      ...process.env,
      APP_STAGE: stage,
      OS2_TEST_OTP: "true",
      OS2_DATA_DIR: dataDir,
      ENCRYPTION_SECRET: "chaos-encryption-secret-0123456789",
      BETTER_AUTH_SECRET: "chaos-auth-secret-0123456789-abcdef",
      OS2_PUBLIC_URL: "http://localhost:3001",
      OTP_RATE_LIMIT_PER_MINUTE: "1000",
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      ...extraEnv,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", () => undefined);
  const waitFor = (pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`server did not print ${pattern} in time`)), timeoutMs);
      const check = () => {
        const match = pattern.exec(output);
        if (match) {
          clearTimeout(deadline);
          resolve(match);
        } else if (child.exitCode !== null) {
          clearTimeout(deadline);
          reject(new Error(`server exited with ${child.exitCode}`));
        } else setTimeout(check, 20);
      };
      check();
    });
  return { child, waitFor };
}

function kill(child: ChildProcess) {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

let databaseUrl: string | undefined;
let dropDatabase: (() => Promise<void>) | undefined;

async function prepareDatabase() {
  const adminUrl = process.env.DATABASE_URL_TEST;
  if (!adminUrl) return; // PGlite in the data directory
  const name = `os2_chaos_${Date.now()}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  databaseUrl = url.toString();
  dropDatabase = async () => {
    const cleanup = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await cleanup.unsafe(`drop database if exists ${name} with (force)`);
    await cleanup.end();
  };
}

function client(port: number, cookie: string) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `http://127.0.0.1:${port}/api/trpc`,
        transformer: superjson,
        headers: () => ({ cookie, origin: "http://localhost:3001" }),
      }),
    ],
  });
}

async function signIn(port: number) {
  const headers = { "content-type": "application/json", origin: "http://localhost:3001" };
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

describe("crash safety", () => {
  afterAll(async () => {
    await removeContainersOfStage(stage);
    await dropDatabase?.();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it(`leaves no orphan container and no dangling row after ${ROUNDS} kills during creates and deletes`, async () => {
    await prepareDatabase();
    let server = startServer();
    let port = Number((await server.waitFor(/ready (\d+)/))[1]);
    const cookie = await signIn(port);
    let api = client(port, cookie);
    const org = await api.organization.create.mutate({ name: "Chaos" });
    const project = await api.project.create.mutate({ organizationSlug: org.slug, name: "Chaos" });
    const scope = { organizationSlug: org.slug, projectSlug: project.slug };

    for (let round = 0; round < ROUNDS; round++) {
      const machines = await api.machine.list.query({ ...scope, includeArchived: true }).catch(() => []);
      const doDelete = round % 2 === 1 && machines.length > 0;
      const operation = doDelete
        ? api.machine.delete.mutate({ ...scope, machineId: machines[round % machines.length]?.id ?? "" })
        : api.machine.create.mutate({ ...scope, name: `chaos-${round}`, type: "local-docker" });
      operation.catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 1_500));
      await kill(server.child);
      server = startServer();
      port = Number((await server.waitFor(/ready (\d+)/))[1]);
      api = client(port, cookie);
    }
    await kill(server.child);

    server = startServer({ CHAOS_RECONCILE: "1" });
    await server.waitFor(/reconciled/, 180_000);
    port = Number((await server.waitFor(/ready (\d+)/))[1]);
    api = client(port, cookie);
    const rows = await api.machine.list.query({ ...scope, includeArchived: true });
    const containers = await containersOfStage(stage);
    await kill(server.child);

    const rowIds = rows.map((row) => row.id).sort();
    const containerMachineIds = containers.map((c) => c.Labels["os2.machine-id"]).sort();
    expect(containerMachineIds).toEqual(rowIds); // no orphans, no rows without a container
    expect(rows.filter((row) => row.observedState === "creating" || row.observedState === "deleting")).toEqual([]);
    expect(rows.every((row) => row.externalId)).toBe(true);
  });
});
