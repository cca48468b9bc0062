/**
 * Sandbox entry point, compiled into the image as /opt/os2/entry.js and run under tini (PID 1).
 *
 * 1. Prepares the workspace: `pnpm install` only if the lockfile changed since the last install (a no-op on
 *    the first boot of a built image, whose build recorded the hash).
 * 2. Starts `s6-svscan` over the image's service directory; s6 runs the daemon (service `iterate-server`).
 * 3. Forwards SIGTERM/SIGINT to s6-svscan, which stops every service; after 10 s it kills what is left.
 *
 * `--prepare-only` runs step 1 and exits (the image build uses it to record the lockfile hash).
 */
import { spawn } from "node:child_process";

import { prepareWorkspace } from "./workspace-lockfile";

const SHUTDOWN_DEADLINE_MS = 9_000; // Under Docker's default 10 s stop timeout, leaving room for tini.

const workspaceDir = process.env.OS2_WORKSPACE_DIR ?? "/workspace";
const scanDir = process.env.OS2_S6_SCAN_DIR ?? "/opt/os2/services";
const stateFile = `${process.env.OS2_STATE_DIR ?? "/var/lib/os2"}/workspace-lockfile.sha256`;

await prepareWorkspace({ workspaceDir, stateFile });
if (process.argv.includes("--prepare-only")) process.exit(0);

const svscan = spawn("s6-svscan", [scanDir], { stdio: "inherit" });
svscan.on("error", (error) => {
  console.error(`[entry] cannot start s6-svscan (is the s6 package installed?): ${error.message}`);
  process.exit(1);
});
svscan.on("exit", (code, signal) => {
  console.log(`[entry] s6-svscan exited (${signal ?? code})`);
  process.exit(code ?? 0);
});

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`[entry] ${signal}: stopping services`);
    // s6-svscan treats SIGTERM as `s6-svscanctl -t`: it stops each supervised service, then exits.
    svscan.kill("SIGTERM");
    setTimeout(() => {
      console.error("[entry] services did not stop in time; killing them");
      svscan.kill("SIGKILL");
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
  });
}
