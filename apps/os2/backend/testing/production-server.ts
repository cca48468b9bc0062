/**
 * The production server as a child process, for the tests that kill, stop or starve it (chaos, faults,
 * SIGTERM): backend/entry.ts under Node with tsx's loader, exactly what `pnpm start` runs minus pnpm's and
 * tsx's wrapper processes (which a signal would reach instead of the server). Also a signed-in tRPC client
 * over real HTTP, and the built SPA entry.ts refuses to start without.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { createTRPCClient, httpLink } from "@trpc/client";
import superjson from "superjson";

import type { AppRouter } from "../trpc/app-router.ts";

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const entry = path.join(packageDir, "backend/entry.ts");
export const PRODUCTION_ORIGIN = "http://localhost:3001";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Builds the SPA once if it is not built (CI's fresh clone has not built it when these tests run). */
export function ensureSpaBuilt(): void {
  if (fs.existsSync(path.join(packageDir, "dist/index.html"))) return;
  execFileSync("npx", ["vite", "build", "--config", "app/vite.config.ts", "--logLevel", "error"], {
    cwd: packageDir,
    stdio: "inherit",
  });
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The environment a test server needs besides its own choices (stage, data dir, database). */
export function productionEnv(extra: Record<string, string>): Record<string, string> {
  return {
    ENCRYPTION_SECRET: "production-test-encryption-secret-0123",
    BETTER_AUTH_SECRET: "production-test-auth-secret-0123456789",
    OS2_PUBLIC_URL: PRODUCTION_ORIGIN,
    OS2_TEST_OTP: "true",
    OTP_RATE_LIMIT_PER_MINUTE: "1000",
    OS2_MAX_RUNNING_MACHINES_PER_ORG: "100",
    OS2_WARM_POOL_SIZE: "0",
    RECONCILE_INTERVAL_MS: "500",
    ...extra,
  };
}

export type ProductionServer = {
  child: ChildProcess;
  port: number;
  url: string;
  /** The last 50 kB the process printed (stdout and stderr). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

export function startProductionServer(env: Record<string, string>, port: number): ProductionServer {
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: packageDir,
    env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-50_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, port, url: `http://127.0.0.1:${port}`, output: () => output, exited };
}

export async function waitUntilServing(server: ProductionServer, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(`the server exited (${server.child.exitCode ?? server.child.signalCode}):\n${server.output()}`);
    }
    const ok = await fetch(`${server.url}/api/health`)
      .then((response) => response.ok)
      .catch(() => false);
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`the server did not answer /api/health within ${timeoutMs} ms:\n${server.output()}`);
}

export function killServer(server: ProductionServer | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return Promise.resolve();
  server.child.kill("SIGKILL");
  return server.exited.then(() => undefined);
}

export function serverClient(url: string, cookie: string) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${url}/api/trpc`,
        transformer: superjson,
        headers: () => ({ cookie, origin: PRODUCTION_ORIGIN }),
      }),
    ],
  });
}

/** Signs in with the fixed `+test@` code (the server must have OS2_TEST_OTP on); answers the cookie header. */
export async function signInTo(url: string, email: string): Promise<string> {
  const headers = { "content-type": "application/json", origin: PRODUCTION_ORIGIN };
  await fetch(`${url}/api/auth/email-otp/send-verification-otp`, {
    method: "POST",
    headers,
    body: JSON.stringify({ email, type: "sign-in" }),
  });
  const response = await fetch(`${url}/api/auth/sign-in/email-otp`, {
    method: "POST",
    headers,
    body: JSON.stringify({ email, otp: "424242" }),
  });
  if (!response.ok) throw new Error(`sign-in failed: ${response.status} ${await response.text()}`);
  return response.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
}
