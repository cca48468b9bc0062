/**
 * Faults against the production server (backend/entry.ts in its own process): PostgreSQL and the Docker
 * Engine really stop for 10 s while requests keep coming, and the server is sent SIGTERM with a terminal
 * and an exec stream open. Guarantees: the process never exits on a fault; requests during an outage are
 * 503s naming the part (never 500s); /api/status says which part is down; everything recovers by itself,
 * machines included; SIGTERM ends the process within its bound, and the next start finishes what it cut.
 *
 * Stopping and starting the services uses OS2_TEST_{POSTGRES,DOCKER}_{STOP,START}, which
 * scripts/ensure-test-env.sh sets for the cluster and engine it manages.
 */
import { execSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createScratchDatabase } from "./testing/harness.ts";
import { containersOfStage, openTerminal, removeContainersOfStage } from "./testing/machine-fixtures.ts";
import {
  ensureSpaBuilt,
  freePort,
  killServer,
  PRODUCTION_ORIGIN,
  productionEnv,
  type ProductionServer,
  serverClient,
  signInTo,
  startProductionServer,
  waitUntilServing,
} from "./testing/production-server.ts";

const OUTAGE_MS = 10_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function control(name: string): string {
  const command = process.env[name];
  if (!command) {
    throw new Error(
      `${name} is not set: the fault tests stop and start PostgreSQL and Docker with the commands in ` +
        "OS2_TEST_{POSTGRES,DOCKER}_{STOP,START}. scripts/ensure-test-env.sh sets them for the services it manages.",
    );
  }
  return command;
}
const run = (name: string) => execSync(control(name), { stdio: "inherit", shell: "/bin/bash", timeout: 120_000 });

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await sleep(200);
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ""}`);
}

type Status = { status: string; database: { ok: boolean }; providers: Array<{ type: string; ok: boolean }> };
const statusOf = (server: ProductionServer) =>
  fetch(`${server.url}/api/status`).then((response) => response.json() as Promise<Status>);

beforeAll(ensureSpaBuilt, 120_000);

describe("the production server through faults", () => {
  const stage = `local-faults-${Math.random().toString(36).slice(2, 8)}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "os2-faults-"));
  const servers: ProductionServer[] = [];
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;

  const start = async (extra: Record<string, string>) => {
    const server = startProductionServer(productionEnv({ APP_STAGE: stage, ...extra }), await freePort());
    servers.push(server);
    await waitUntilServing(server);
    return server;
  };

  afterAll(async () => {
    // Whatever happened, the services are back for the suites after this one.
    // (Starting one that runs is an error for pg_ctlcluster, and harmless.)
    for (const name of ["OS2_TEST_POSTGRES_START", "OS2_TEST_DOCKER_START"]) {
      const command = process.env[name];
      if (command) {
        try {
          execSync(command, { stdio: "ignore", shell: "/bin/bash" });
        } catch {
          // already running
        }
      }
    }
    await Promise.all(servers.map((server) => killServer(server)));
    await removeContainersOfStage(stage);
    await scratch?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 180_000);

  it("answers 503 naming the database while PostgreSQL is stopped for 10 s, never exits, and recovers by itself", async () => {
    control("OS2_TEST_POSTGRES_STOP");
    control("OS2_TEST_POSTGRES_START");
    scratch = await createScratchDatabase();
    const server = await start({ OS2_DATA_DIR: path.join(dataDir, "pg"), DATABASE_URL: scratch.url });
    const cookie = await signInTo(server.url, "faults+test@example.com");
    const api = serverClient(server.url, cookie);
    const org = await api.organization.create.mutate({ name: "Faults" });
    const input = encodeURIComponent(JSON.stringify({ json: { organizationSlug: org.slug } }));
    const answers: Array<{ at: number; status: number; body: string; ms: number }> = [];

    // Traffic all along: a dashboard's list query every 100 ms.
    let traffic = true;
    const load = (async () => {
      while (traffic) {
        const at = Date.now();
        const answer = await fetch(`${server.url}/api/trpc/project.list?input=${input}`, {
          headers: { cookie, origin: PRODUCTION_ORIGIN },
          signal: AbortSignal.timeout(15_000),
        })
          .then(async (response) => ({ at, status: response.status, body: await response.text() }))
          .catch((error: unknown) => ({
            at,
            status: 0,
            body: `${String(error)} (cause: ${String((error as { cause?: unknown }).cause)}) after ${Date.now() - at} ms`,
          }));
        answers.push({ ...answer, ms: Date.now() - at });
        await sleep(100);
      }
    })();

    await sleep(1_000);
    const stopped = Date.now();
    run("OS2_TEST_POSTGRES_STOP");
    await until("a 503", async () => answers.some((a) => a.at > stopped && a.status === 503), OUTAGE_MS);
    const during = await statusOf(server);
    await sleep(Math.max(0, stopped + OUTAGE_MS - Date.now()));
    run("OS2_TEST_POSTGRES_START");
    const restarted = Date.now();
    await until(
      "a 200 after PostgreSQL is back",
      async () => answers.some((a) => a.at > restarted && a.status === 200),
      30_000,
    );
    const recovered = answers.find((a) => a.at > restarted && a.status === 200)?.at ?? Date.now();
    traffic = false;
    await load;

    const outage = answers.filter((a) => a.at > stopped && a.at < restarted);
    console.info(
      `PostgreSQL outage: ${outage.length} requests in ${Math.round((restarted - stopped) / 1000)} s, ` +
        `${outage.filter((a) => a.status === 503).length} × 503, first 200 ${recovered - restarted} ms after restart`,
    );
    expect(server.child.exitCode).toBeNull();
    const serverErrors = answers.filter((a) => a.status >= 500 && a.status !== 503).map((a) => `${a.status} ${a.body}`);
    expect(serverErrors, serverErrors.join("\n")).toEqual([]);
    // Each failed request with when it was sent, relative to the stop and the restart, so a failure says which phase.
    const phase = (at: number) => `sent ${at - stopped} ms after the stop, ${at - restarted} ms after the restart`;
    const unanswered = answers.filter((a) => a.status === 0).map((a) => `${phase(a.at)}: ${a.body}`);
    expect(unanswered, unanswered.join("\n")).toEqual([]);
    // Answered, not left waiting on the database's reconnect backoff: postgres.js's default one grows to
    // 20 s, and requests sat in it through the outage and after it.
    const slow = answers.filter((a) => a.ms > 5_000).map((a) => `${phase(a.at)}: HTTP ${a.status} after ${a.ms} ms`);
    expect(slow, slow.join("\n")).toEqual([]);
    const unavailable = answers.filter((a) => a.status === 503);
    expect(unavailable.length).toBeGreaterThan(0);
    for (const answer of unavailable) expect(answer.body).toMatch(/database is unreachable/i);
    expect(during).toMatchObject({ status: "degraded", database: { ok: false } });
    await until("status ok again", async () => (await statusOf(server)).database.ok, 10_000);
    expect(server.output()).not.toMatch(/unhandled promise rejection|uncaught exception/);
  }, 180_000);

  it("shows Docker unreachable while dockerd is stopped for 10 s, answers creates 503, and brings machines back", async () => {
    control("OS2_TEST_DOCKER_STOP");
    control("OS2_TEST_DOCKER_START");
    const server = await start({ OS2_DATA_DIR: path.join(dataDir, "docker") });
    const cookie = await signInTo(server.url, "faults+test@example.com");
    const api = serverClient(server.url, cookie);
    const org = await api.organization.create.mutate({ name: "Docker Faults" });
    const project = await api.project.create.mutate({ organizationSlug: org.slug, name: "Faults" });
    const scope = { organizationSlug: org.slug, projectSlug: project.slug };
    const machine = await api.machine.create.mutate({ ...scope, name: "survivor", type: "local-docker" });
    const byId = () => api.machine.byId.query({ ...scope, machineId: machine.id });
    await until("the machine running", async () => (await byId()).observedState === "running", 60_000);

    const stopped = Date.now();
    run("OS2_TEST_DOCKER_STOP");
    const types = await until(
      "local-docker reported unavailable",
      async () => {
        const listed = await api.machine.types.query(scope);
        const local = listed.find((type) => type.type === "local-docker");
        return local && !local.available ? local : undefined;
      },
      OUTAGE_MS,
    );
    const status = await statusOf(server);
    const create = await api.machine.create
      .mutate({ ...scope, name: "during-outage", type: "local-docker" })
      .then(() => "created")
      .catch((error: unknown) => error);
    await sleep(Math.max(0, stopped + OUTAGE_MS - Date.now()));
    run("OS2_TEST_DOCKER_START");
    const restarted = Date.now();
    await until(
      "the machine running again",
      async () => {
        const row = await byId();
        const [container] = await containersOfStage(stage);
        return row.observedState === "running" && container?.State === "running";
      },
      120_000,
    );
    console.info(`Docker outage: the machine was running again ${Date.now() - restarted} ms after dockerd returned`);

    expect(server.child.exitCode).toBeNull();
    expect(types).toMatchObject({
      available: false,
      reason: expect.stringMatching(/Docker not reachable.*DOCKER_HOST/s),
    });
    expect(status.providers.find((provider) => provider.type === "local-docker")).toMatchObject({ ok: false });
    expect(create).toBeInstanceOf(TRPCClientError);
    expect((create as TRPCClientError<never>).data).toMatchObject({ code: "SERVICE_UNAVAILABLE", httpStatus: 503 });
    expect((await api.machine.list.query({ ...scope, includeArchived: true })).machines).toHaveLength(1);
    expect(server.output()).not.toMatch(/unhandled promise rejection|uncaught exception/);
  }, 240_000);

  it("exits within its bound on SIGTERM with a terminal and an exec stream open, and the next start finishes what it cut", async () => {
    const dir = path.join(dataDir, "sigterm");
    let server = await start({ OS2_DATA_DIR: dir });
    const cookie = await signInTo(server.url, "faults+test@example.com");
    let api = serverClient(server.url, cookie);
    const org = await api.organization.create.mutate({ name: "Shutdown" });
    const project = await api.project.create.mutate({ organizationSlug: org.slug, name: "Shutdown" });
    const scope = { organizationSlug: org.slug, projectSlug: project.slug };
    const first = await api.machine.create.mutate({ ...scope, name: "open-terminal", type: "local-docker" });
    await until(
      "the machine running",
      async () => (await api.machine.byId.query({ ...scope, machineId: first.id })).observedState === "running",
      60_000,
    );
    const proxy = (rest: string) => `${server.url}/org/${org.slug}/proj/${project.slug}/${first.id}/proxy/3000${rest}`;
    const headers = { cookie, origin: PRODUCTION_ORIGIN };

    const terminal = await openTerminal(
      `${proxy("/api/pty/ws").replace(/^http/, "ws")}?cols=80&rows=24&tmuxSession=sigterm`,
      headers,
    );
    await until("the terminal drawing", async () => terminal.screen().length > 0, 15_000);
    const stream = await fetch(proxy("/api/exec"), {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ command: "sh", args: ["-c", "while true; do echo tick; sleep 0.2; done"], stream: true }),
    });
    expect(stream.status).toBe(200);
    const reading = (async () => {
      const reader = stream.body?.getReader();
      try {
        while (reader && !(await reader.read()).done);
        return "ended";
      } catch {
        return "cut";
      }
    })();
    // A second machine still on its way up when the signal arrives: the next start must finish it.
    const second = await api.machine.create.mutate({ ...scope, name: "half-done", type: "local-docker" });

    const signalled = Date.now();
    server.child.kill("SIGTERM");
    const exit = await server.exited;
    const tookMs = Date.now() - signalled;
    console.info(`SIGTERM with a terminal and an exec stream open: exited in ${tookMs} ms`);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(tookMs).toBeLessThan(15_000); // the 10 s grace for requests in flight, plus closing
    expect(["ended", "cut"]).toContain(await reading);

    server = await start({ OS2_DATA_DIR: dir });
    api = serverClient(server.url, cookie);
    await until(
      "both machines running after the restart",
      async () => {
        const rows = (await api.machine.list.query(scope)).machines;
        return rows.length === 2 && rows.every((row) => row.observedState === "running");
      },
      120_000,
    );
    const containers = await containersOfStage(stage);
    expect(
      containers
        .filter((c) => c.State === "running")
        .map((c) => c.Labels["os2.machine-id"])
        .filter((id) => id === first.id || id === second.id)
        .sort(),
    ).toEqual([first.id, second.id].sort());
  }, 240_000);
});
