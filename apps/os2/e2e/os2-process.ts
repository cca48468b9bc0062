/**
 * Another os2 server process for specs that need one configured differently from the main e2e server (a
 * preview domain, admin addresses) or restarted with new settings over the same data. It serves the
 * production build the main e2e server has built (dist/), on its own port, PGlite directory and stage, so
 * no reconciler ever sees another's containers. `stop()` ends it; `stop({ keepData: true })` leaves its
 * data directory for the next process; otherwise the directory and every container of its stage go too.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { docker } from "./machine-fixture.ts";

const packageDir = fileURLToPath(new URL("..", import.meta.url));

export type Os2ProcessOptions = {
  port: number;
  stage: string;
  /** Relative to apps/os2. */
  dataDir: string;
  publicUrl: string;
  /** Wipe the data directory before starting (a fresh installation). */
  fresh: boolean;
  env?: Record<string, string>;
};

export type Os2Process = { stop(options?: { keepData?: boolean }): Promise<void> };

async function removeContainersOfStage(stage: string) {
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

export async function startOs2Process(options: Os2ProcessOptions): Promise<Os2Process> {
  const dataDir = path.join(packageDir, options.dataDir);
  if (options.fresh) await rm(dataDir, { recursive: true, force: true });
  const output: string[] = [];
  const child: ChildProcess = spawn(path.join(packageDir, "node_modules/.bin/tsx"), ["backend/entry.ts"], {
    cwd: packageDir,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      PORT: String(options.port),
      HOST: "127.0.0.1",
      OS2_PUBLIC_URL: options.publicUrl,
      OS2_DATA_DIR: dataDir,
      APP_STAGE: options.stage,
      OS2_TEST_OTP: "true",
      // No warm pool: specs count the containers they make.
      OS2_WARM_POOL_SIZE: "0",
      // Empty values override anything a local .env might set (dotenv never overrides the environment).
      ITERATE_USER: "",
      DATABASE_URL: "",
      SMTP_URL: "",
      GOOGLE_CLIENT_ID: "",
      GOOGLE_CLIENT_SECRET: "",
      POSTHOG_KEY: "",
      VITE_POSTHOG_PUBLIC_KEY: "",
      ALLOW_SIGNUP_FROM_EMAILS: "*@example.com",
      OS2_ADMIN_EMAILS: "",
      ...options.env,
    },
  });
  child.stdout?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const stop = async ({ keepData = false }: { keepData?: boolean } = {}) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (keepData) return;
    await removeContainersOfStage(options.stage);
    await rm(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`os2 (stage ${options.stage}) exited with ${child.exitCode}:\n${output.join("")}`);
    }
    const healthy = await fetch(`http://127.0.0.1:${options.port}/api/health`, { signal: AbortSignal.timeout(1_000) })
      .then((response) => response.ok)
      .catch(() => false);
    if (healthy) return { stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`os2 (stage ${options.stage}) did not answer /api/health within 60 s:\n${output.join("")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
