/**
 * `running` means the daemon reported itself healthy. A daemon that answers /api/health with `degraded`
 * keeps its machine out of `running`, both while it boots and when the reconciler looks again, until it
 * reports `ok`. The machine is a real loopback server; the provider only says where it listens.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import type { HealthResponse } from "@os2/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createUnconfiguredDaytonaProvider } from "../../providers/daytona/index.ts";
import { ProviderError } from "../../providers/errors.ts";
import type { ListedMachine, MachineProvider } from "../../providers/types.ts";
import { createTestOs2, type TestOs2 } from "../../testing/harness.ts";
import { setUpProject, waitForObservedState } from "../../testing/machine-fixtures.ts";

describe("machine health", () => {
  let daemon: Server;
  let status: HealthResponse["status"] = "degraded";
  let t: TestOs2;
  let fx: Awaited<ReturnType<typeof setUpProject>>;

  beforeAll(async () => {
    daemon = createServer((request, response) => {
      const body: HealthResponse = {
        status,
        version: "test",
        startedAt: new Date().toISOString(),
        uptimeSeconds: 1,
        services: [],
      };
      response.writeHead(request.url === "/api/health" ? 200 : 404).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => daemon.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(daemon.address() as AddressInfo).port}`;
    const held: ListedMachine[] = [];
    const loopback: MachineProvider = {
      type: "local-docker",
      availability: async () => ({ available: true }),
      create: async (input) => {
        held.push({ externalId: `loopback-${input.machineId}`, labels: input.labels, state: "running" });
        return { externalId: `loopback-${input.machineId}`, metadata: {} };
      },
      start: async () => {},
      stop: async () => {},
      archive: async () => {},
      delete: async () => {},
      inspect: async () => ({ state: "running", metadata: {} }),
      list: async () => held,
      daemonEndpoint: async () => ({ url, headers: {} }),
    };
    t = await createTestOs2({ providers: { "local-docker": loopback, daytona: createUnconfiguredDaytonaProvider() } });
    fx = await setUpProject(t);
  });
  afterAll(async () => {
    await t?.close();
    daemon?.close();
  });

  it("does not report a machine running while its daemon reports degraded, and does once it reports ok", async () => {
    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "degraded", type: "local-docker" });
    const read = () => fx.api.machine.byId.query({ ...fx.scope, machineId: created.id });

    // Boot polling sees 200s with `degraded` for a while, and a reconcile pass looks again: still not running.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await t.os2.reconciler.reconcileOnce();
    expect((await read()).observedState).toBe("starting");

    status = "ok";
    await waitForObservedState(read, "running", 10_000);
    const events = await fx.api.machine.events.query({ ...fx.scope, machineId: created.id });
    expect(events.map((event) => event.toState)).toEqual(["creating", "starting", "running"]);
  });
});

describe("machines that cannot finish a transition", () => {
  let daemon: Server;
  let t: TestOs2;
  let fx: Awaited<ReturnType<typeof setUpProject>>;
  let deletable = false;

  beforeAll(async () => {
    daemon = createServer((_request, response) => {
      const body: HealthResponse = {
        status: "ok",
        version: "test",
        startedAt: new Date().toISOString(),
        uptimeSeconds: 1,
        services: [],
      };
      response.writeHead(200).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => daemon.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(daemon.address() as AddressInfo).port}`;
    const held: ListedMachine[] = [];
    // A provider that cannot delete (its API is down, say) until told it can.
    const undeletable: MachineProvider = {
      type: "local-docker",
      availability: async () => ({ available: true }),
      create: async (input) => {
        held.push({ externalId: `stuck-${input.machineId}`, labels: input.labels, state: "running" });
        return { externalId: `stuck-${input.machineId}`, metadata: {} };
      },
      start: async () => {},
      stop: async () => {},
      archive: async () => {},
      delete: async () => {
        if (!deletable) throw new ProviderError("unavailable", "the provider's API does not answer");
      },
      inspect: async () => ({ state: "running", metadata: {} }),
      list: async () => held,
      daemonEndpoint: async () => ({ url, headers: {} }),
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
    daemon?.close();
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
