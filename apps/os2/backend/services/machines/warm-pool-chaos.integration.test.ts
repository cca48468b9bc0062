/**
 * The warm pool when the production server is SIGKILLed in the middle of claims and refills: after a
 * restart on the same data, every machine whose create was recorded ends up running and usable (its own
 * token works through the proxy), and the pool settles at its size, with nothing of the cut claims left.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { docker, removeContainersOfStage } from "../../testing/machine-fixtures.ts";
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
} from "../../testing/production-server.ts";

const POOL_SIZE = 2;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    await sleep(250);
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ""}`);
}

beforeAll(ensureSpaBuilt, 120_000);

describe("the warm pool through a SIGKILL", () => {
  const stage = `local-pool-chaos-${Math.random().toString(36).slice(2, 8)}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "os2-pool-chaos-"));
  const servers: ProductionServer[] = [];

  const start = async () => {
    const env = productionEnv({ APP_STAGE: stage, OS2_DATA_DIR: dataDir, OS2_WARM_POOL_SIZE: String(POOL_SIZE) });
    const server = startProductionServer(env, await freePort());
    servers.push(server);
    await waitUntilServing(server);
    return server;
  };

  const poolContainers = async () =>
    docker.listContainers({ all: true, filters: JSON.stringify({ label: [`os2.stage=${stage}`, "os2.pool=true"] }) });

  /** Pool containers booted and answering health (as the pool's own readiness asks). */
  const healthyMembers = async (held: Set<string>) => {
    let healthy = 0;
    for (const container of await poolContainers()) {
      if (held.has(container.Id) || container.State !== "running") continue;
      const port = container.Ports.find((p) => p.PrivatePort === 3000)?.PublicPort;
      const ok = await fetch(`http://127.0.0.1:${port}/api/health`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) healthy += 1;
    }
    return healthy;
  };

  afterAll(async () => {
    await Promise.all(servers.map((server) => killServer(server)));
    await removeContainersOfStage(stage);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  it("after a SIGKILL during claims and refills: no pool members beyond its size, and no machine half-claimed", async () => {
    let server = await start();
    const cookie = await signInTo(server.url, "pool-chaos+test@example.com");
    let api = serverClient(server.url, cookie);
    const org = await api.organization.create.mutate({ name: "Pool chaos" });
    const project = await api.project.create.mutate({ organizationSlug: org.slug, name: "Pool chaos" });
    const scope = { organizationSlug: org.slug, projectSlug: project.slug };
    await api.envVar.set.mutate({ ...scope, key: "CHAOS_VAR", value: "kept" });
    await until("the pool full", async () => (await healthyMembers(new Set())) === POOL_SIZE, 90_000);
    await sleep(500); // the pool marks them ready after its own health check

    // Four creates at once: two claim the members (and start refills), two boot cold; the kill comes as
    // soon as the first machine is recorded, so it lands while claims and boots are under way.
    const creates = Array.from({ length: 4 }, (_, i) =>
      api.machine.create.mutate({ ...scope, name: `chaos-${i}`, type: "local-docker" }).catch(() => null),
    );
    const firstApi = api;
    await until(
      "a machine recorded",
      async () => (await firstApi.machine.list.query(scope)).machines.length > 0,
      30_000,
    );
    server.child.kill("SIGKILL");
    await server.exited;
    await Promise.all(creates);

    server = await start();
    api = serverClient(server.url, cookie);
    const cut = (await api.machine.list.query(scope)).machines;
    console.info(
      `after the SIGKILL: ${cut.length} machines recorded (${cut.map((row) => row.observedState).join(", ")}), ` +
        `${(await poolContainers()).length} pool containers`,
    );
    // The kill cut something: a recorded machine that had not reached running.
    expect(cut.length).toBeGreaterThan(0);
    expect(cut.some((row) => row.observedState !== "running")).toBe(true);
    const proxy = (machineId: string) =>
      `${server.url}/org/${org.slug}/proj/${project.slug}/${machineId}/proxy/3000/api/exec`;
    // Each recorded machine finishes: claimed in full or booted cold (an interrupted one waits out its lease).
    await until(
      "every recorded machine running",
      async () => {
        const rows = (await api.machine.list.query(scope)).machines;
        return rows.every((row) => row.observedState === "running");
      },
      150_000,
    );
    const rows = (await api.machine.list.query(scope)).machines;
    for (const row of rows) {
      const exec = await fetch(proxy(row.id), {
        method: "POST",
        headers: { cookie, origin: PRODUCTION_ORIGIN, "content-type": "application/json" },
        body: JSON.stringify({ command: "sh", args: ["-c", 'printf %s "$CHAOS_VAR/$OS2_MACHINE_ID"'] }),
      });
      expect(exec.status, row.id).toBe(200);
      expect(((await exec.json()) as { stdout: string }).stdout).toBe(`kept/${row.id}`);
    }
    const held = new Set(rows.map((row) => row.externalId ?? ""));
    // The pool settles at its size: cut claims and boots are drained, nothing else is left.
    await until(
      "the pool back at its size",
      async () => {
        const free = (await poolContainers()).filter((c) => !held.has(c.Id));
        return free.length === POOL_SIZE && (await healthyMembers(held)) === POOL_SIZE;
      },
      90_000,
    );
    await sleep(2_000);
    expect((await poolContainers()).filter((c) => !held.has(c.Id))).toHaveLength(POOL_SIZE);
  }, 300_000);
});
