/**
 * The dashboard door reuses its connections to a daemon: sequential requests share one upstream TCP
 * connection instead of opening one each (a connect per request would add a round trip and a socket in
 * TIME_WAIT), and concurrent requests open at most one connection each, all kept for the next ones. A
 * kept connection that the machine closes just as it is reused costs a GET one retry, never an error, and
 * never makes a request with a body arrive twice. The machine is a loopback server answering like a
 * daemon and counting the connections it accepts.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createUnconfiguredDaytonaProvider } from "../providers/daytona/index.ts";
import type { MachineProvider } from "../providers/types.ts";
import { createTestOs2, DASHBOARD_ORIGIN, type TestOs2 } from "../testing/harness.ts";
import { setUpProject, waitForObservedState } from "../testing/machine-fixtures.ts";

describe("proxy keep-alive to daemons", () => {
  let machineServer: Server;
  /** Upstream connections that carried a proxied request (health polls of the control plane aside). */
  const doorSockets = new Set<unknown>();
  const servedOn = new WeakMap<object, number>();
  const closesReused: string[] = [];
  let t: TestOs2;
  let fx: Awaited<ReturnType<typeof setUpProject>>;
  let doorUrl: string;

  beforeAll(async () => {
    machineServer = createServer((request, response) => {
      if (request.url === "/api/ping") doorSockets.add(request.socket);
      const served = servedOn.get(request.socket) ?? 0;
      servedOn.set(request.socket, served + 1);
      // Closes a kept connection as it is reused, as an app whose idle timeout just ran out.
      if (request.url?.startsWith("/api/closes-reused")) {
        closesReused.push(`${request.method} ${served > 0 ? "reused" : "new"}`);
        if (served > 0) return request.socket.destroy();
      }
      const body = JSON.stringify(
        request.url === "/api/health"
          ? { status: "ok", version: "test", startedAt: new Date().toISOString(), uptimeSeconds: 1, services: [] }
          : { ok: true },
      );
      response.writeHead(200, { "content-type": "application/json" }).end(body);
    });
    await new Promise<void>((resolve) => machineServer.listen(0, "127.0.0.1", resolve));
    const machineUrl = `http://127.0.0.1:${(machineServer.address() as AddressInfo).port}`;
    const loopbackMachine: MachineProvider = {
      type: "local-docker",
      availability: async () => ({ available: true }),
      create: async () => ({ externalId: "loopback", metadata: {} }),
      start: async () => {},
      stop: async () => {},
      archive: async () => {},
      delete: async () => {},
      inspect: async () => ({ state: "running", metadata: {} }),
      list: async () => [],
      daemonEndpoint: async () => ({ url: machineUrl, headers: {}, credentialHeader: "authorization" }),
    };
    t = await createTestOs2({
      providers: { "local-docker": loopbackMachine, daytona: createUnconfiguredDaytonaProvider() },
    });
    fx = await setUpProject(t);
    const base = await t.listen();
    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "loopback", type: "local-docker" });
    await waitForObservedState(() => fx.api.machine.byId.query({ ...fx.scope, machineId: created.id }), "running");
    doorUrl = `${base}/org/${fx.org.slug}/proj/${fx.project.slug}/${created.id}/proxy/3000/api/ping`;
  });

  afterAll(async () => {
    await t?.close();
    machineServer?.close();
  });

  const get = async () => {
    const response = await fetch(doorUrl, { headers: { cookie: fx.cookie, origin: DASHBOARD_ORIGIN } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  };

  it("sends 20 sequential requests over one upstream connection", async () => {
    await get(); // the first request opens the connection (health polling may have opened others)
    const before = doorSockets.size;
    for (let i = 0; i < 20; i++) await get();
    expect(doorSockets.size - before).toBe(0);
  });

  it("opens at most one connection per request in flight, and reuses them for the next bursts", async () => {
    const before = doorSockets.size;
    await Promise.all(Array.from({ length: 8 }, get));
    const afterFirstBurst = doorSockets.size;
    expect(afterFirstBurst - before).toBeLessThanOrEqual(8);
    for (let burst = 0; burst < 3; burst++) await Promise.all(Array.from({ length: 8 }, get));
    // Never more connections than requests in flight at once, over every burst: they are kept and reused.
    expect(doorSockets.size - before).toBeLessThanOrEqual(8);
  });

  it("sends a GET again, once, on a new connection when the machine closes the kept one as it is reused", async () => {
    await get(); // a kept connection to reuse
    closesReused.length = 0;
    const response = await fetch(doorUrl.replace("/api/ping", "/api/closes-reused"), {
      headers: { cookie: fx.cookie, origin: DASHBOARD_ORIGIN },
    });
    expect(response.status).toBe(200);
    expect(closesReused).toEqual(["GET reused", "GET new"]);
  });

  it("never sends a request with a body twice: a closed kept connection is a 502 naming the port", async () => {
    await get();
    closesReused.length = 0;
    const response = await fetch(doorUrl.replace("/api/ping", "/api/closes-reused"), {
      method: "POST",
      headers: { cookie: fx.cookie, origin: DASHBOARD_ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ once: true }),
    });
    expect(response.status).toBe(502);
    expect(((await response.json()) as { message: string }).message).toContain("port 3000");
    expect(closesReused).toEqual(["POST reused"]);
  });
});
