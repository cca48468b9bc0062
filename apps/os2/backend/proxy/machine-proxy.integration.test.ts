/**
 * The proxy relays WebSocket frames in order, including frames a machine sends the instant the socket
 * opens (tmux draws the screen on attach). The machine here is a real loopback server that speaks like a
 * daemon (health + a WebSocket that greets at once); the provider only says where it listens.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";

import { createUnconfiguredDaytonaProvider } from "../providers/daytona/index.ts";
import type { MachineProvider } from "../providers/types.ts";
import { createTestOs2, DASHBOARD_ORIGIN, type TestOs2 } from "../testing/harness.ts";
import { setUpProject, waitForObservedState } from "../testing/machine-fixtures.ts";

describe("machine proxy WebSockets", () => {
  let machineServer: Server;
  let machineUrl: string;
  let t: TestOs2;
  let base: string;
  let fx: Awaited<ReturnType<typeof setUpProject>>;

  beforeAll(async () => {
    machineServer = createServer((request, response) => {
      // The daemon's own health shape: os2 counts a machine running only on `status: "ok"`.
      const health = {
        status: "ok",
        version: "test",
        startedAt: new Date().toISOString(),
        uptimeSeconds: 1,
        services: [],
      };
      response.writeHead(request.url === "/api/health" ? 200 : 404).end(JSON.stringify(health));
    });
    const wss = new WebSocketServer({ server: machineServer });
    wss.on("connection", (socket) => {
      for (let i = 1; i <= 3; i++) socket.send(`greeting-${i}`);
      socket.on("message", (data) => socket.send(`echo:${String(data)}`));
    });
    await new Promise<void>((resolve) => machineServer.listen(0, "127.0.0.1", resolve));
    machineUrl = `http://127.0.0.1:${(machineServer.address() as AddressInfo).port}`;

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
      daemonEndpoint: async () => ({ url: machineUrl, headers: {} }),
    };
    t = await createTestOs2({
      providers: { "local-docker": loopbackMachine, daytona: createUnconfiguredDaytonaProvider() },
    });
    fx = await setUpProject(t);
    base = await t.listen();
  });
  afterAll(async () => {
    await t?.close();
    machineServer?.close();
  });

  it("delivers the frames a machine sends as soon as the socket opens, in order, then relays both ways", async () => {
    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "loopback", type: "local-docker" });
    await waitForObservedState(() => fx.api.machine.byId.query({ ...fx.scope, machineId: created.id }), "running");
    const url = `${base.replace(/^http/, "ws")}/org/${fx.org.slug}/proj/${fx.project.slug}/${created.id}/proxy/3000/ws`;
    for (let attempt = 0; attempt < 5; attempt++) {
      const received: string[] = [];
      const socket = new WebSocket(url, { headers: { cookie: fx.cookie, origin: DASHBOARD_ORIGIN } });
      socket.on("message", (data) => received.push(String(data)));
      await new Promise<void>((resolve, reject) => {
        socket.once("open", () => resolve());
        socket.once("error", reject);
      });
      try {
        socket.send("ping");
        await expect.poll(() => received.length, { timeout: 5_000 }).toBe(4);
        expect(received).toEqual(["greeting-1", "greeting-2", "greeting-3", "echo:ping"]);
      } finally {
        socket.terminate();
      }
    }
  });
});
