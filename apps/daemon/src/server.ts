import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Duplex } from "node:stream";

import { getRequestListener } from "@hono/node-server";

import { createDaemonApp } from "./app";
import type { DaemonConfig } from "./config";
import { createForwarder } from "./forward/forward";

/**
 * The daemon's Node HTTP server. Requests under `/api/forward/` go to the forward (streams and sockets, no
 * Hono in between); everything else to the Hono app. Upgrades are dispatched the same way, so exactly one
 * handler touches each socket: `@hono/node-ws` answers every upgrade it is shown (a plain status for paths
 * it does not know), so it is only ever shown the non-forward ones, through a server object of its own
 * that never listens.
 */
export function createDaemonServer(config: DaemonConfig) {
  const { app, injectWebSocket, wss, oom, credential } = createDaemonApp(config);
  const forwarder = createForwarder({ authToken: credential });
  const honoListener = getRequestListener(app.fetch);
  const webSocketUpgrades = createServer();
  injectWebSocket(webSocketUpgrades);

  const server: Server = createServer((req, res) => {
    if (forwarder.matches(req.url)) {
      forwarder.handleRequest(req, res);
      return;
    }
    honoListener(req, res).catch((error: unknown) => {
      console.error("[daemon] request failed:", req.method, req.url, error);
      res.destroy();
    });
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // After an upgrade Node no longer listens for socket errors; a reset before a handler attached its own
    // listener (node-ws first awaits the app) would otherwise be an uncaught 'error' that ends the daemon.
    socket.on("error", () => socket.destroy());
    if (forwarder.matches(req.url)) forwarder.handleUpgrade(req, socket, head);
    else webSocketUpgrades.emit("upgrade", req, socket, head);
  });
  server.on("close", () => {
    forwarder.close();
    oom.stop();
  });
  return { server, app, wss, oom };
}
