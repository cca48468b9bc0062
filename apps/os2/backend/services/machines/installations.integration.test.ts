/**
 * Two os2 installations on one Docker host, each with its own PGlite and the SAME stage (as two developers,
 * or two local instances, have by default): each creates machines, both reconcile again and again, and
 * neither removes, stops or marks the other's. A machine of this installation without a row is removed
 * only after a grace period, with a log line saying why; one of another installation never.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestOs2, type TestOs2 } from "../../testing/harness.ts";
import {
  containersOfStage,
  docker,
  removeContainersOfStage,
  setUpProject,
  waitForObservedState,
} from "../../testing/machine-fixtures.ts";

const IMAGE = process.env.LOCAL_DOCKER_IMAGE_NAME ?? "iterate-sandbox:local";
const STAGE = `local-shared-${Math.random().toString(36).slice(2, 8)}`;

describe("installations sharing one Docker host", () => {
  let a: TestOs2;
  let b: TestOs2;

  beforeAll(async () => {
    const env = { LOCAL_DOCKER_IMAGE_NAME: IMAGE, APP_STAGE: STAGE, OS2_ORPHAN_GRACE_MS: "2000" };
    [a, b] = await Promise.all([createTestOs2({ env }), createTestOs2({ env })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await removeContainersOfStage(STAGE);
  });

  it("gives each database its own installation id", () => {
    expect(a.os2.installationId).toMatch(/^inst_/);
    expect(b.os2.installationId).toMatch(/^inst_/);
    expect(a.os2.installationId).not.toBe(b.os2.installationId);
  });

  it("never lets one installation's reconciler remove, stop or mark the other's machines", async () => {
    const [fa, fb] = await Promise.all([
      setUpProject(a, "a-owner+test@example.com"),
      setUpProject(b, "b-owner+test@example.com"),
    ]);
    const made = await Promise.all([
      fa.api.machine.create.mutate({ ...fa.scope, name: "a-one", type: "local-docker" }),
      fb.api.machine.create.mutate({ ...fb.scope, name: "b-one", type: "local-docker" }),
    ]);
    await waitForObservedState(() => fa.api.machine.byId.query({ ...fa.scope, machineId: made[0].id }), "running");
    await waitForObservedState(() => fb.api.machine.byId.query({ ...fb.scope, machineId: made[1].id }), "running");
    for (let pass = 0; pass < 4; pass += 1) {
      const reports = await Promise.all([a.os2.reconciler.reconcileOnce(), b.os2.reconciler.reconcileOnce()]);
      for (const report of reports) expect(report.orphansRemoved).toBe(0);
    }
    // Past the grace period too: the other's machines are not orphans of this one, ever.
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    await Promise.all([a.os2.reconciler.reconcileOnce(), b.os2.reconciler.reconcileOnce()]);
    const running = (await containersOfStage(STAGE)).filter((container) => container.State === "running");
    expect(running.map((container) => container.Labels["os2.machine-id"]).sort()).toEqual(made.map((m) => m.id).sort());
    expect((await fa.api.machine.byId.query({ ...fa.scope, machineId: made[0].id })).observedState).toBe("running");
    expect((await fb.api.machine.byId.query({ ...fb.scope, machineId: made[1].id })).observedState).toBe("running");
    await fa.api.machine.delete.mutate({ ...fa.scope, machineId: made[0].id });
    await fb.api.machine.delete.mutate({ ...fb.scope, machineId: made[1].id });
  });

  it("removes its own machine without a row only after the grace period, and says why", async () => {
    const orphan = await docker.createContainer({
      Image: IMAGE,
      Entrypoint: ["sleep", "300"],
      Labels: {
        "os2.managed": "true",
        "os2.installation": a.os2.installationId,
        "os2.machine-id": "mach_00000000000000000000000000",
        "os2.project-id": "prj_gone",
        "os2.stage": STAGE,
      },
    });
    const legacy = await docker.createContainer({
      Image: IMAGE,
      Entrypoint: ["sleep", "300"],
      // Made before installation ids existed: matched to rows, never removed as an orphan.
      Labels: {
        "os2.managed": "true",
        "os2.machine-id": "mach_legacy",
        "os2.project-id": "prj_old",
        "os2.stage": STAGE,
      },
    });
    try {
      const early = await a.os2.reconciler.reconcileOnce();
      expect(early.orphansRemoved).toBe(0);
      expect((await orphan.inspect()).Id).toBe(orphan.id);
      expect(a.logLines.some((line) => line.includes("has no row yet") && line.includes(orphan.id))).toBe(true);
      // B never touches A's, however old.
      await new Promise((resolve) => setTimeout(resolve, 2_200));
      expect((await b.os2.reconciler.reconcileOnce()).orphansRemoved).toBe(0);
      expect((await orphan.inspect()).Id).toBe(orphan.id);
      const late = await a.os2.reconciler.reconcileOnce();
      expect(late.orphansRemoved).toBe(1);
      await expect(orphan.inspect()).rejects.toMatchObject({ statusCode: 404 });
      expect(a.logLines.some((line) => line.includes("has no row in its database") && line.includes(orphan.id))).toBe(
        true,
      );
      expect((await legacy.inspect()).Id).toBe(legacy.id);
    } finally {
      await orphan.remove({ force: true }).catch(() => undefined);
      await legacy.remove({ force: true }).catch(() => undefined);
    }
  });
});
