/**
 * `running` means the daemon reported itself healthy. A daemon that answers /api/health with `degraded`
 * keeps its machine out of `running`, both while it boots and when the reconciler looks again, until it
 * reports `ok`. The machine is a real loopback server; the provider only says where it listens.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createUnconfiguredDaytonaProvider } from "../../providers/daytona/index.ts";
import { ProviderError } from "../../providers/errors.ts";
import { createTestOs2, type TestOs2 } from "../../testing/harness.ts";
import { setUpProject, waitForObservedState } from "../../testing/machine-fixtures.ts";
import { createStreamProvider, type StreamProvider } from "../../testing/stream-provider.ts";

describe("machine health", () => {
  let loopback: StreamProvider;
  let t: TestOs2;
  let fx: Awaited<ReturnType<typeof setUpProject>>;

  beforeAll(async () => {
    loopback = await createStreamProvider();
    loopback.health.status = "degraded";
    t = await createTestOs2({
      providers: { "local-docker": loopback.provider, daytona: createUnconfiguredDaytonaProvider() },
    });
    fx = await setUpProject(t);
  });
  afterAll(async () => {
    await t?.close();
    await loopback?.close();
  });

  it("does not report a machine running while its daemon reports degraded, and does once it reports ok", async () => {
    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "degraded", type: "local-docker" });
    const read = () => fx.api.machine.byId.query({ ...fx.scope, machineId: created.id });

    // Boot polling sees 200s with `degraded` for a while, and a reconcile pass looks again: still not running.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await t.os2.reconciler.reconcileOnce();
    expect((await read()).observedState).toBe("starting");

    loopback.health.status = "ok";
    await waitForObservedState(read, "running", 10_000);
    const events = await fx.api.machine.events.query({ ...fx.scope, machineId: created.id });
    expect(events.map((event) => event.toState)).toEqual(["creating", "starting", "running"]);
  });
});

describe("machines that cannot finish a transition", () => {
  let loopback: StreamProvider;
  let t: TestOs2;
  let fx: Awaited<ReturnType<typeof setUpProject>>;
  let deletable = false;

  beforeAll(async () => {
    loopback = await createStreamProvider();
    // A provider that cannot delete (its API is down, say) until told it can.
    const undeletable = {
      ...loopback.provider,
      delete: async () => {
        if (!deletable) throw new ProviderError("unavailable", "the provider's API does not answer");
      },
    };
    t = await createTestOs2({
      env: { OS2_STUCK_AFTER_MS: "300" },
      providers: { "local-docker": undeletable, daytona: createUnconfiguredDaytonaProvider() },
    });
    fx = await setUpProject(t);
  });
  afterAll(async () => {
    deletable = true;
    await t?.close();
    await loopback?.close();
  });

  it("moves a machine stuck deleting to error with what fails and what to do, and force delete forgets it", async () => {
    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "stuck", type: "local-docker" });
    const read = () => fx.api.machine.byId.query({ ...fx.scope, machineId: created.id });
    await waitForObservedState(read, "running", 10_000);
    await expect(fx.api.machine.delete.mutate({ ...fx.scope, machineId: created.id })).rejects.toThrow(
      /does not answer/,
    );
    expect((await read()).observedState).toBe("deleting");

    // Within the bound the reconciler keeps trying; past it, the machine says it is stuck and why.
    await t.os2.reconciler.reconcileOnce();
    expect((await read()).observedState).toBe("deleting");
    await new Promise((resolve) => setTimeout(resolve, 400));
    await t.os2.reconciler.reconcileOnce();
    const stuck = await read();
    expect(stuck.observedState).toBe("error");
    expect(stuck.lastError).toMatch(/^Stuck deleting for 1 min: the provider's API does not answer\. .*force delete/);

    await fx.api.machine.delete.mutate({ ...fx.scope, machineId: created.id, force: true });
    await expect(read()).rejects.toThrow(/not found/i);
  });
});
