/**
 * A second os2, for specs that need previews on the same *site* as the dashboard: the deployment shape
 * `app.example.com` + `{port}--{machine}.example.com`. In the default shape (`localhost` +
 * `*.localhost`) Chromium treats every preview host as a site of its own, so SameSite=Lax keeps the
 * dashboard's cookie off a preview page's requests by itself; only here does that cookie go along, which
 * is what the dashboard's Origin guard is for.
 *
 * The names resolve through Chromium's `--host-resolver-rules` (SAME_SITE.chromiumArgs), never through DNS.
 * It serves the production build the main e2e server has built (dist/), on its own port, PGlite directory
 * and stage, so neither reconciler ever sees the other's containers. `stop()` ends it and removes every
 * container of its stage and its data directory.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { CHROMIUM_ARGS } from "./chromium.ts";
import { E2E_PORT } from "./e2e-server.ts";
import { docker } from "./machine-fixture.ts";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const port = E2E_PORT + 1;
const stage = "e2e-same-site";
const dataDir = path.join(packageDir, ".tmp/e2e-same-site-data");

export const SAME_SITE = {
  port,
  stage,
  dashboard: `http://app.os2.example.com:${port}`,
  previewTemplate: `http://{port}--{machine}.os2.example.com:${port}`,
  chromiumArgs: [...CHROMIUM_ARGS, "--host-resolver-rules=MAP *.os2.example.com 127.0.0.1"],
  previewOrigin: (machineId: string, machinePort: number) =>
    `http://${machinePort}--${machineId.replace(/^mach_/, "mach-")}.os2.example.com:${port}`,
};

async function removeContainersOfStage() {
  const containers = await docker.listContainers({
    all: true,
    filters: JSON.stringify({ label: [`os2.stage=${stage}`] }),
  });
  for (const container of containers) {
    await docker
      .getContainer(container.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  }
}

export async function startSameSiteServer(): Promise<{ stop(): Promise<void> }> {
  await rm(dataDir, { recursive: true, force: true });
  const output: string[] = [];
  const child: ChildProcess = spawn(path.join(packageDir, "node_modules/.bin/tsx"), ["backend/entry.ts"], {
    cwd: packageDir,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      OS2_PUBLIC_URL: SAME_SITE.dashboard,
      OS2_PREVIEW_URL: SAME_SITE.previewTemplate,
      OS2_DATA_DIR: dataDir,
      APP_STAGE: stage,
      OS2_TEST_OTP: "true",
      // Empty values override anything a local .env might set (dotenv never overrides the environment).
      ITERATE_USER: "",
      DATABASE_URL: "",
      SMTP_URL: "",
      GOOGLE_CLIENT_ID: "",
      GOOGLE_CLIENT_SECRET: "",
      POSTHOG_KEY: "",
      VITE_POSTHOG_PUBLIC_KEY: "",
      ALLOW_SIGNUP_FROM_EMAILS: "*@example.com",
    },
  });
  child.stdout?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await removeContainersOfStage();
    await rm(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`the same-site os2 exited with ${child.exitCode}:\n${output.join("")}`);
    }
    const healthy = await fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(1_000) })
      .then((response) => response.ok)
      .catch(() => false);
    if (healthy) return { stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the same-site os2 did not answer /api/health within 60 s:\n${output.join("")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
