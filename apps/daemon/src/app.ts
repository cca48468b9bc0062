import { join } from "node:path";

import { createNodeWebSocket } from "@hono/node-ws";
import { Hono } from "hono";

import { agentRoutes } from "./agents/route";
import { AgentService } from "./agents/service";
import { AgentStore } from "./agents/store";
import { claimRoutes } from "./claim/route";
import type { DaemonConfig } from "./config";
import { MachineEnv } from "./env/machine-env";
import { envRoutes } from "./env/route";
import { execRoutes } from "./exec/route";
import { filesRoutes } from "./files/route";
import { healthRoutes } from "./health/route";
import { DaemonCredential, requireMachineToken } from "./http/auth";
import { errorBody, HttpError } from "./http/errors";
import { logsRoutes } from "./logs/route";
import { portsRoutes } from "./ports/route";
import { ptyRoutes } from "./pty/route";
import { findCgroupFiles } from "./resources/cgroup";
import { OomMonitor } from "./resources/oom-monitor";
import { oomRoutes, usageRoutes } from "./resources/route";
import { tmuxRoutes } from "./tmux/route";
import { Tmux } from "./tmux/tmux";

/**
 * Builds the daemon's Hono app. `injectWebSocket` must be given a Node server whose `upgrade` events should
 * reach the app (the terminal's WebSocket); `createDaemonServer` (server.ts) wires both, with the forward.
 */
export function createDaemonApp(
  config: DaemonConfig,
  credential = new DaemonCredential({
    token: config.authToken,
    poolToken: config.poolToken,
    stateDir: config.stateDir,
  }),
) {
  const app = new Hono();
  const { injectWebSocket, upgradeWebSocket, wss } = createNodeWebSocket({ app });
  const tmux = new Tmux(config.tmuxSocket, config.childOomScoreAdj);
  // Before anything can start a child: the environment the control plane set last, from before a restart.
  const machineEnv = new MachineEnv(config.stateDir, tmux);
  machineEnv.load();
  const agents = new AgentService(new AgentStore(config.stateDir), tmux, config.stateDir, {
    procRoot: config.procRoot,
  });
  const cgroup = findCgroupFiles(config.cgroupRoot, config.procRoot);
  const oom = new OomMonitor({
    cgroup,
    procRoot: config.procRoot,
    stateFile: join(config.stateDir, "oom.json"),
    pollMs: config.oomPollMs,
    idlePollMs: config.oomIdlePollMs,
    childOomScoreAdj: config.childOomScoreAdj,
  });
  try {
    oom.start();
  } catch (error) {
    console.error("[daemon] the OOM watch did not start:", error); // the daemon serves without it
  }

  app.onError((error, c) => {
    if (error instanceof HttpError) return c.json(errorBody(error), error.status);
    console.error("[daemon] unexpected error on", c.req.method, c.req.path, error);
    return c.json({ error: "internal", message: error.message }, 500);
  });
  app.notFound((c) =>
    c.json({ error: "not_found", message: `no route ${c.req.method} ${c.req.path}; see apps/daemon/README.md` }, 404),
  );

  app.route("/api/health", healthRoutes(config, oom));
  // Before the token check: a warm-pool machine's claim is authenticated by its pool credential.
  app.route("/api/claim", claimRoutes(credential, machineEnv));
  app.use("/api/*", requireMachineToken(credential));
  // A request that changes something (exec, a tmux session, an agent, files, env) may start work that fills
  // the memory: the OOM watch looks at its busy cadence again. Reads (the SPA's polling) do not count.
  app.use("/api/*", async (c, next) => {
    if (c.req.method !== "GET" && c.req.method !== "HEAD") oom.noteActivity();
    await next();
  });
  app.route("/api/env", envRoutes(machineEnv));
  app.route("/api/exec", execRoutes(config, oom));
  app.route("/api/files", filesRoutes(config));
  app.route("/api/tmux/sessions", tmuxRoutes(config, tmux));
  app.route(
    "/api/pty",
    ptyRoutes(config, tmux, upgradeWebSocket, () => oom.noteActivity()),
  );
  app.route("/api/agents", agentRoutes(config, agents));
  app.route("/api/logs", logsRoutes(config));
  app.route("/api/ports", portsRoutes());
  app.route("/api/oom", oomRoutes(oom));
  app.route("/api/usage", usageRoutes(cgroup));
  return { app, injectWebSocket, wss, oom, credential };
}
