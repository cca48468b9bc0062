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
