/**
 * In-process test harness: a real os2 (same createOs2 as production) on a fresh PGlite directory, or on
 * the PostgreSQL server named by DATABASE_URL_TEST when `database: "postgres"` is asked for. Requests go
 * through the Hono app's fetch, so auth cookies, tRPC and error formatting are all exercised for real.
 */
import fs from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

import { createTRPCClient, httpLink } from "@trpc/client";
import postgres from "postgres";
import superjson from "superjson";

import { createOs2, type CreateOs2Options, type Os2 } from "../app.ts";
import { parseEnv } from "../env.ts";
import { createLogger } from "../logger.ts";
import type { AppRouter } from "../trpc/app-router.ts";

export type TestOs2 = {
  os2: Os2;
  logLines: string[];
  fetch(input: string, init?: RequestInit): Promise<Response>;
  signIn(email: string): Promise<string>;
  client(auth?: { cookie?: string; bearer?: string }): ReturnType<typeof createTRPCClient<AppRouter>>;
  /** Serves this os2 on a real loopback port (for WebSockets and socket-level behaviour); closed with `close`. */
  listen(): Promise<string>;
  close(): Promise<void>;
};

export type TestOs2Options = {
  database?: "pglite" | "postgres";
  /** A PostgreSQL database shared with other instances (see createScratchDatabase); the caller drops it. */
  databaseUrl?: string;
  env?: Record<string, string>;
  providers?: CreateOs2Options["providers"];
  /** Off by default: tests call `os2.reconciler.reconcileOnce()` when they mean to. */
  startReconciler?: boolean;
};

const BASE = "http://localhost:3001";
/** The dashboard origin the harness's server believes it has: browsers send it with every state change. */
export const DASHBOARD_ORIGIN = BASE;

/** A tiny cookie jar: applies a response's Set-Cookie headers (later ones win, Max-Age=0 deletes). */
export function applySetCookies(cookieHeader: string, response: Response): string {
  const jar = new Map(
    cookieHeader
      .split(";")
      .map((part) => part.trim())
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)] as const),
  );
  for (const setCookie of response.headers.getSetCookie()) {
    const [pair = "", ...attributes] = setCookie.split(";");
    const name = pair.slice(0, pair.indexOf("=")).trim();
    const value = pair.slice(pair.indexOf("=") + 1);
    const expired = attributes.some((attribute) => /^\s*max-age=0\s*$/i.test(attribute));
    if (expired || value === "") jar.delete(name);
    else jar.set(name, value);
  }
  return [...jar.entries()].map(([name, value]) => `${name}=${value}`).join("; ");
}

export async function createTestOs2(options: TestOs2Options = {}): Promise<TestOs2> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "os2-test-"));
  const databaseUrl = options.databaseUrl
    ? { url: options.databaseUrl, drop: async () => {} }
    : options.database === "postgres"
      ? await createScratchDatabase()
      : undefined;
  const logLines: string[] = [];
  const env = parseEnv({
    OS2_DATA_DIR: dataDir,
    // A local stage of its own: sign-in codes may go to the log, and this instance's reconciler never sees
    // another test's containers as orphans.
    APP_STAGE: `local-test-${Math.random().toString(36).slice(2, 8)}`,
    ENCRYPTION_SECRET: "test-encryption-secret-0123456789",
    BETTER_AUTH_SECRET: "test-auth-secret-0123456789-abcdef",
    OS2_PUBLIC_URL: BASE,
    OTP_RATE_LIMIT_PER_MINUTE: "1000",
    // The suites sign in with the fixed `+test@` code; some also run on stages where it is off by default.
    OS2_TEST_OTP: "true",
    // Benches and suites start many machines in one organization; the quota test sets its own limit.
    OS2_MAX_RUNNING_MACHINES_PER_ORG: "100",
    // No warm pool unless a test asks for one: suites count the containers they make.
    OS2_WARM_POOL_SIZE: "0",
    ...(databaseUrl ? { DATABASE_URL: databaseUrl.url } : {}),
    ...options.env,
  });
  const os2 = await createOs2({
    env,
    log: createLogger((line) => logLines.push(line)),
    ...(options.providers ? { providers: options.providers } : {}),
    startReconciler: options.startReconciler ?? false,
  });

  const fetchApp = (input: string, init?: RequestInit) => {
    const request = new Request(new URL(input, BASE), init);
    return Promise.resolve(os2.app.fetch(request));
  };

  const servers: Server[] = [];

  return {
    os2,
    logLines,
    fetch: fetchApp,
    async signIn(email) {
      const headers = { "content-type": "application/json", origin: BASE };
      const sent = await fetchApp("/api/auth/email-otp/send-verification-otp", {
        method: "POST",
        headers,
        body: JSON.stringify({ email, type: "sign-in" }),
      });
      if (!sent.ok) throw new Error(`send OTP failed: ${sent.status} ${await sent.text()}`);
      const signedIn = await fetchApp("/api/auth/sign-in/email-otp", {
        method: "POST",
        headers,
        body: JSON.stringify({ email, otp: "424242" }),
      });
      if (!signedIn.ok) throw new Error(`sign-in failed: ${signedIn.status} ${await signedIn.text()}`);
      return applySetCookies("", signedIn);
    },
    client(auth = {}) {
      return createTRPCClient<AppRouter>({
        links: [
          httpLink({
            url: `${BASE}/api/trpc`,
            transformer: superjson,
            headers: () => ({
              origin: BASE,
              ...(auth.cookie ? { cookie: auth.cookie } : {}),
              ...(auth.bearer ? { authorization: `Bearer ${auth.bearer}` } : {}),
            }),
            fetch: (url, init) => fetchApp(String(url), init as RequestInit),
          }),
        ],
      });
    },
    async listen() {
      const server = os2.createServer();
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async close() {
      for (const server of servers) server.closeAllConnections();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
      await os2.close();
      await databaseUrl?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A throwaway database on the server in DATABASE_URL_TEST, dropped on close. */
export async function createScratchDatabase() {
  const adminUrl = process.env.DATABASE_URL_TEST;
  if (!adminUrl) throw new Error("DATABASE_URL_TEST is not set (the test script starts PostgreSQL and sets it).");
  const name = `os2_test_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const cleanup = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await cleanup.unsafe(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}
