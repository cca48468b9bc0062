/**
 * Assembles the control plane from validated config: database, auth, realtime, tRPC and HTTP routes.
 * Used by the production entry (entry.ts), the dev server (dev.ts) and in-process tests alike, so the
 * tests exercise exactly what runs in production.
 */
import os from "node:os";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { Hono } from "hono";
import { createIngestProxy } from "./analytics/ingest-proxy.ts";
import { createServerAnalytics, type ServerAnalytics } from "./analytics/server-analytics.ts";
import { createAuth } from "./auth/auth.ts";
import { parseSignupAllowlist } from "./auth/email-rules.ts";
import { createMailer } from "./auth/mailer.ts";
import { createEncryptor } from "./crypto.ts";
import { openDatabase, type DatabaseHandle } from "./db/client.ts";
import type { Env } from "./env.ts";
import { loadOrCreateLocalSecret } from "./local-secrets.ts";
import { createLogger, type Logger } from "./logger.ts";
import { REALTIME_PATH, createRealtimeHub, type RealtimeHub } from "./realtime/hub.ts";
import { computeServerStage } from "./stage.ts";
import { appRouter } from "./trpc/app-router.ts";
import { createContext, type AppDeps } from "./trpc/context.ts";
import { combineObservers, type MutationObserver } from "./trpc/mutation-observer.ts";
import { captureTrackedMutation } from "./trpc/tracked-mutations.ts";

export type Os2 = {
  app: Hono;
  deps: AppDeps;
  database: DatabaseHandle;
  realtime: RealtimeHub;
  analytics: ServerAnalytics;
  publicUrl: string;
  /** Routes WebSocket upgrades (realtime now; machine proxies later) and destroys anything unknown. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  attach(server: Server): void;
  close(): Promise<void>;
};

export type CreateOs2Options = {
  env: Env;
  log?: Logger;
  /** Extra observers (analytics) notified after successful mutations. */
  mutationObservers?: MutationObserver[];
};

export async function createOs2(options: CreateOs2Options): Promise<Os2> {
  const { env } = options;
  const log = options.log ?? createLogger();
  const stage = computeServerStage(env, os.userInfo().username);
  const isProduction = stage === "prd";
  const requireSecret = (name: "ENCRYPTION_SECRET" | "BETTER_AUTH_SECRET", value: string | undefined) => {
    if (value) return value;
    if (isProduction) throw new Error(`${name} must be set when APP_STAGE=prd.`);
    return loadOrCreateLocalSecret(env.OS2_DATA_DIR, name, (message) => log.warn(message));
  };
  const encryptor = createEncryptor(requireSecret("ENCRYPTION_SECRET", env.ENCRYPTION_SECRET));
  const authSecret = requireSecret("BETTER_AUTH_SECRET", env.BETTER_AUTH_SECRET);
  const publicUrl = env.OS2_PUBLIC_URL ?? `http://localhost:${env.PORT}`;

  const database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.OS2_DATA_DIR });
  const { db } = database;
  const google =
    env.GOOGLE_CLIENT_ID && env.GOOGLE_CLIENT_SECRET
      ? { clientId: env.GOOGLE_CLIENT_ID, clientSecret: env.GOOGLE_CLIENT_SECRET }
      : undefined;
  const auth = createAuth({
    db,
    baseURL: publicUrl,
    secret: authSecret,
    stage,
    mailer: createMailer({ smtpUrl: env.SMTP_URL, from: env.SMTP_FROM, log: (line) => log.info(line) }),
    signupAllowlist: parseSignupAllowlist(env.ALLOW_SIGNUP_FROM_EMAILS, stage),
    adminEmails: new Set((env.OS2_ADMIN_EMAILS ?? "").split(",").map((e) => e.trim().toLowerCase()).filter(Boolean)),
    google,
    otpRateLimitPerMinute: env.OTP_RATE_LIMIT_PER_MINUTE,
    trustedOrigins: [publicUrl, `http://127.0.0.1:${env.PORT}`, `http://localhost:${env.PORT}`],
  });

  const realtime = await createRealtimeHub({
    db,
    pubsub: database.pubsub,
    log,
    authenticate: async (headers) => (await auth.api.getSession({ headers }))?.user.id ?? null,
  });
  const realtimeObserver: MutationObserver = {
    onMutationSuccess(outcome) {
      if (outcome.organizationId) realtime.publish(outcome.organizationId, outcome.invalidates);
    },
  };

  // No POSTHOG_KEY, no analytics traffic at all: the disabled client never constructs posthog-node.
  const analytics = createServerAnalytics({ apiKey: env.POSTHOG_KEY, host: env.POSTHOG_HOST, stage });
  const analyticsObserver: MutationObserver = {
    onMutationSuccess(outcome) {
      captureTrackedMutation({
        analytics,
        path: outcome.path,
        input: outcome.input,
        output: outcome.output,
        ctx: { userId: outcome.userId, organizationId: outcome.organizationId, projectId: outcome.projectId },
      });
    },
  };

  const deps: AppDeps = {
    db,
    auth,
    encryptor,
    stage,
    log,
    realtime,
    mutationObserver: combineObservers(realtimeObserver, analyticsObserver, ...(options.mutationObservers ?? [])),
    googleEnabled: Boolean(google),
    extensions: {},
  };

  const app = new Hono();
  app.get("/api/health", (c) => c.json({ status: "ok", stage }));
  app.on(["GET", "POST"], "/api/auth/*", (c) => auth.handler(c.req.raw));
  app.route("/ingest", createIngestProxy({ posthogHost: env.POSTHOG_HOST }));
  app.all("/api/trpc/*", (c) =>
    fetchRequestHandler({
      endpoint: "/api/trpc",
      req: c.req.raw,
      router: appRouter,
      createContext: () => createContext(deps, c.req.raw.headers),
    }),
  );

  const upgradeRoutes: Array<{ matches(path: string): boolean; handle: Os2["handleUpgrade"] }> = [
    {
      matches: (path) => path === REALTIME_PATH,
      handle: (request, socket, head) => {
        realtime.handleUpgrade(request, socket, head);
        return true;
      },
    },
  ];

  const handleUpgrade: Os2["handleUpgrade"] = (request, socket, head) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    const route = upgradeRoutes.find((candidate) => candidate.matches(path));
    return route ? route.handle(request, socket, head) : false;
  };

  return {
    app,
    deps,
    database,
    realtime,
    analytics,
    publicUrl,
    handleUpgrade,
    attach(server) {
      server.on("upgrade", (request, socket, head) => {
        if (!handleUpgrade(request, socket, head)) socket.destroy();
      });
    },
    async close() {
      realtime.close();
      await analytics.shutdown();
      await database.close();
    },
  };
}
