/**
 * Entry point of the os2 daemon: parses the environment, serves the API (and the forward to the machine's
 * other ports) on port 3000, and tells s6 it is ready (notification-fd) once its own `/api/health` answers.
 * Run by the `iterate-server` s6 service.
 */
import { closeSync, writeSync } from "node:fs";
import { request } from "node:http";

import { parseDaemonConfig } from "./config";
import { checkWritableDirs } from "./preflight";
import { createDaemonServer } from "./server";
import { childEnvironmentFixes, daemonUser, describeUser } from "./user";
import { warmUpRequestPaths } from "./warm-up";

const READY_POLL_MS = 20;

// The version is spelled out so the bundler can replace it with the built version.
const config = parseDaemonConfig({ ...process.env, OS2_DAEMON_VERSION: process.env.OS2_DAEMON_VERSION });
// Children (exec, tmux and so every agent) must not inherit the readiness fd number: it is ours alone.
delete process.env.OS2_READY_FD;
// Nor the pool credential: it is the control plane's alone, and revoked at claim.
delete process.env.OS2_POOL_TOKEN;
// Children inherit this environment. Started as a non-root user without a login (s6-setuidgid, docker -u),
// it may still say HOME=/root: give them the user's own home, so claude, git and npm write where they may.
const fixes = childEnvironmentFixes(process.env, daemonUser());
Object.assign(process.env, fixes);
console.log(
  `[daemon] running as ${describeUser()}, HOME=${process.env.HOME ?? "(unset)"}${fixes.HOME ? " (set from the password database)" : ""}`,
);
for (const warning of checkWritableDirs([
  { path: config.stateDir, what: "OS2_STATE_DIR: agent definitions and the OOM count" },
  { path: config.workspaceDir, what: "OS2_WORKSPACE_DIR: the default working directory" },
])) {
  console.error(`[daemon] warning: ${warning}`);
}
const { server } = createDaemonServer(config);
server.listen(config.port, config.host, () => {
  console.log(`[daemon] ${config.version} listening on ${config.host}:${config.port}`);
  if (config.readyFd === undefined) return;
  notifyReadyWhenHealthy(config.port, config.readyFd)
    .catch((error: unknown) => {
      // Without readiness s6 keeps the service "up, not ready"; say why rather than crash.
      console.error(`[daemon] could not signal readiness: ${String(error)}`);
    })
    // Once ready, not before: readiness is what a boot waits for.
    .then(() => warmUpRequestPaths())
    .catch((error: unknown) => console.error(`[daemon] warming up the request paths failed: ${String(error)}`));
});

// s6 sends SIGTERM on `s6-svc -d`/`-t` and at shutdown; tmux sessions (terminals, agents) are separate
// processes and keep running. Exit promptly rather than wait for long-lived streams to drain.
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    server.close();
    setTimeout(() => process.exit(0), 200).unref();
  });
}

/** s6 readiness: one newline on the fd it gave us, written only once the health route really answers. */
async function notifyReadyWhenHealthy(port: number, fd: number): Promise<void> {
  while (!(await healthAnswers(port))) await new Promise((r) => setTimeout(r, READY_POLL_MS));
  try {
    writeSync(fd, "\n");
    closeSync(fd);
  } catch (error) {
    console.error(`[daemon] could not write readiness to fd ${fd}:`, error);
  }
}

function healthAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/api/health", timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}
