/**
 * Chaos: the production server (what `pnpm start` runs: backend/entry.ts) is killed with SIGKILL at random
 * points of creates, deletes and restarts, on the embedded PGlite default (50 kills) and on PostgreSQL
 * (20 kills). Guarantees: it starts again after every kill, and once its reconciler has settled there is no
 * orphaned container, no row without its container, and no machine stuck mid-transition or in error.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createScratchDatabase } from "../../testing/harness.ts";
import { containersOfStage, removeContainersOfStage } from "../../testing/machine-fixtures.ts";
import {
  ensureSpaBuilt,
  freePort,
  killServer,
  productionEnv,
  type ProductionServer,
  serverClient,
  signInTo,
  startProductionServer,
  waitUntilServing,
} from "../../testing/production-server.ts";

const STUCK_OR_FAILED = ["creating", "starting", "stopping", "deleting", "error"];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// entry.ts serves the built SPA and refuses to start without it.
beforeAll(ensureSpaBuilt, 120_000);

describe.each([
  { database: "PGlite", rounds: 50 },
  { database: "PostgreSQL", rounds: 20 },
] as const)("crash safety of the production server on $database", ({ database, rounds }) => {
  const stage = `local-chaos-${Math.random().toString(36).slice(2, 8)}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "os2-chaos-"));
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
  let server: ProductionServer | undefined;

  afterAll(async () => {
    await killServer(server);
    await removeContainersOfStage(stage);
    await scratch?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it(`starts again after each of ${rounds} kills during creates, deletes and restarts, and settles with no orphan, dangling row or stuck machine`, async () => {
    if (database === "PostgreSQL") scratch = await createScratchDatabase();
    const env = productionEnv({
      APP_STAGE: stage,
      OS2_DATA_DIR: dataDir,
      ...(scratch ? { DATABASE_URL: scratch.url } : {}),
    });
    const port = await freePort();
    server = startProductionServer(env, port);
    await waitUntilServing(server);
    const cookie = await signInTo(server.url, "chaos+test@example.com");
    const api = serverClient(server.url, cookie);
    const org = await api.organization.create.mutate({ name: "Chaos" });
    const project = await api.project.create.mutate({ organizationSlug: org.slug, name: "Chaos" });
    const scope = { organizationSlug: org.slug, projectSlug: project.slug };

    const counts = { create: 0, delete: 0, restart: 0 };
    const started = Date.now();
    for (let round = 0; round < rounds; round++) {
      const machines = await api.machine.list
        .query({ ...scope, includeArchived: true })
        .then((page) => page.machines)
        .catch(() => []);
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
      await killServer(server);
      server = startProductionServer(env, port);
      await waitUntilServing(server);
    }

    const killing = Date.now() - started;
    // Settling: the reconciler of the last start finishes whatever each kill interrupted.
    const deadline = Date.now() + 180_000;
    let rows = (await api.machine.list.query({ ...scope, includeArchived: true })).machines;
    let containers = await containersOfStage(stage);
    const settled = () =>
      rows.every((row) => row.observedState === row.desiredState) &&
      containers.length === rows.length &&
      containers.every((c) => c.State === "running" || c.State === "exited");
    while (!settled() && Date.now() < deadline) {
      await sleep(500);
      rows = (await api.machine.list.query({ ...scope, includeArchived: true })).machines;
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
  }, 1_500_000);
});
