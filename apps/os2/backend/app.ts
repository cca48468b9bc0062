/**
 * Assembles the control plane from validated config: database, auth, realtime, tRPC and HTTP routes.
 * Used by the production entry (entry.ts), the dev server (dev.ts) and in-process tests alike, so the
 * tests exercise exactly what runs in production.
 */
import { createServer as createNodeServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import os from "node:os";
import type { Duplex } from "node:stream";

import { getRequestListener } from "@hono/node-server";
import { API_PREFIX } from "@os2/protocol";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";

import { createIngestProxy } from "./analytics/ingest-proxy.ts";
import { captureMachineFailed, captureMachineReady } from "./analytics/machine-events.ts";
import { createServerAnalytics, type ServerAnalytics } from "./analytics/server-analytics.ts";
import { createAuth } from "./auth/auth.ts";
import { isLocalStage, parseSignupAllowlist, testOtpEnabled } from "./auth/email-rules.ts";
import { createMailer } from "./auth/mailer.ts";
import { createEncryptor } from "./crypto.ts";
import { type DatabaseHandle, openDatabase } from "./db/client.ts";
import type { Env } from "./env.ts";
import { createApiV1 } from "./http/api-v1/api.ts";
import { resolveDaemonRoute } from "./http/api-v1/daemon-routes.ts";
import { apiFailure } from "./http/api-v1/errors.ts";
import { API_MAX_BODY_BYTES, TRPC_MAX_BATCH, trpcLimits } from "./http/limits.ts";
import { crossSiteRefusal } from "./http/origin-guard.ts";
import { loadOrCreateLocalSecret } from "./local-secrets.ts";
import { createLogger, type Logger } from "./logger.ts";
import {
  createUnconfiguredDaytonaProvider,
  DaytonaProvider,
  defaultSnapshotPrefix,
} from "./providers/daytona/index.ts";
import { LocalDockerProvider, resolveDockerHost } from "./providers/local-docker/index.ts";
import type { ProviderRegistry } from "./providers/registry.ts";
import { createDashboardDoor } from "./proxy/dashboard-door.ts";
import { createEdge } from "./proxy/edge.ts";
import { LiveConnections } from "./proxy/live-connections.ts";
import { createPreviewDoor, PREVIEW_OPEN_PATH } from "./proxy/preview-door.ts";
import { openPreview } from "./proxy/preview-open.ts";
import { PreviewOrigin } from "./proxy/preview-origin.ts";
import { createRealtimeHub, REALTIME_PATH, type RealtimeHub } from "./realtime/hub.ts";
import { shareAccessForgets } from "./services/access-peers.ts";
import { createServices } from "./services/index.ts";
import { ensureInstallation } from "./services/installation.ts";
import type { InstallationLimits } from "./services/machines/limits.ts";
import { MachineListCache } from "./services/machines/list-cache.ts";
import { MachineService } from "./services/machines/machine-service.ts";
import { OrganizationChanges } from "./services/machines/organization-changes.ts";
import { DatabasePreviewTokenStore } from "./services/machines/preview-token-store.ts";
import { Reconciler } from "./services/machines/reconciler.ts";
import { WarmPool } from "./services/machines/warm-pool.ts";
import { DATABASE_OUTAGE_MESSAGE, isDatabaseOutage } from "./services/outages.ts";
import { StatusService } from "./services/status.ts";
import { computeServerStage } from "./stage.ts";
import { appRouter } from "./trpc/app-router.ts";
import { type AppDeps, createContext } from "./trpc/context.ts";
import { combineObservers, type MutationObserver } from "./trpc/mutation-observer.ts";
import { captureTrackedMutation } from "./trpc/tracked-mutations.ts";

export type Os2 = {
  app: Hono;
  deps: AppDeps;
  database: DatabaseHandle;
  realtime: RealtimeHub;
  analytics: ServerAnalytics;
  machines: MachineService;
  reconciler: Reconciler;
  /** Local machines booted ahead of demand (OS2_WARM_POOL_SIZE). */
  pool: WarmPool;
  providers: ProviderRegistry;
  publicUrl: string;
  previewOrigin: PreviewOrigin;
  /** This database's installation id, on every container and sandbox it creates. */
  installationId: string;
  /**
   * Node-level routing (proxy/edge.ts): preview hosts, malformed targets and the dashboard door are
   * handled here; anything else is passed to `next` (the Hono app, or Vite in dev).
   */
  handleRequest(request: IncomingMessage, response: ServerResponse, next: () => void): void;
  /** Routes every WebSocket upgrade and destroys what nothing takes. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  attach(server: Server): void;
  /** A Node HTTP server that serves the app and its WebSocket upgrades (not yet listening). */
  createServer(): Server;
  /** Ends open terminals, previews, streams and realtime sockets (the first step of a shutdown). */
  closeConnections(): void;
  close(): Promise<void>;
};

export type CreateOs2Options = {
  env: Env;
  log?: Logger;
  /** Extra observers notified after successful mutations. */
  mutationObservers?: MutationObserver[];
  /** Tests inject providers (e.g. pointed at the Daytona stand-in); otherwise built from env. */
  providers?: ProviderRegistry;
  /** Tests drive reconcile passes themselves. */
  startReconciler?: boolean;
  /**
   * The database of `env`, already opening: the production entry starts opening it (the slowest step of a
   * start) before it loads the rest of the server. Opened here when absent.
   */
  database?: Promise<DatabaseHandle>;
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

  warnAboutExposure(env, log);
  // Where Docker answers is probed while the database opens (both wait on I/O; neither needs the other).
  const dockerHost = options.providers ? undefined : resolveDockerHost(env.DOCKER_HOST);
  const database = await (options.database ??
    openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.OS2_DATA_DIR }));
  const { db } = database;
  const installationId = await ensureInstallation(db);
  const google =
    env.GOOGLE_CLIENT_ID && env.GOOGLE_CLIENT_SECRET
      ? { clientId: env.GOOGLE_CLIENT_ID, clientSecret: env.GOOGLE_CLIENT_SECRET }
      : undefined;
  const mailer = createMailer({
    smtpUrl: env.SMTP_URL,
    from: env.SMTP_FROM,
    logCodes: isLocalStage(stage),
    log: (line) => log.info(line),
  });
  const testOtp = testOtpEnabled(env.OS2_TEST_OTP, stage);
  const auth = createAuth({
    testOtp,
    db,
    baseURL: publicUrl,
    secret: authSecret,
    stage,
    mailer,
    signupAllowlist: parseSignupAllowlist(env.ALLOW_SIGNUP_FROM_EMAILS, stage),
    adminEmails: new Set(
      (env.OS2_ADMIN_EMAILS ?? "")
        .split(",")
        .map((e) => e.trim().toLowerCase())
        .filter(Boolean),
    ),
    google,
    otpRateLimitPerMinute: env.OTP_RATE_LIMIT_PER_MINUTE,
    trustedOrigins: [publicUrl, ...trustedAuthOrigins(env.PORT)],
  });

  // Machine list pages, kept for a moment and forgotten on every invalidation of their organization.
  const machineLists = new MachineListCache({ ttlMs: env.OS2_MACHINE_LIST_CACHE_MS, maxEntries: 1_000 });
  // And whoever waits for a machine's state (GET /api/v1/machines/{machine}?waitFor=…) reads again.
  const changes = new OrganizationChanges();
  const realtime = await createRealtimeHub({
    db,
    pubsub: database.pubsub,
    log,
    onInvalidate: (organizationId) => {
      machineLists.forget(organizationId);
      changes.fire(organizationId);
    },
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

  const providers =
    options.providers ??
    createProviders(
      env,
      stage,
      await (dockerHost ?? resolveDockerHost(env.DOCKER_HOST)),
      new DatabasePreviewTokenStore(db, encryptor),
    );
  const limits = installationLimits(env);
  const pool = new WarmPool({
    db,
    encryptor,
    providers,
    stage,
    installationId,
    size: env.OS2_WARM_POOL_SIZE,
    projectMax: env.OS2_WARM_POOL_PROJECT_MAX,
    reservedMax: env.OS2_WARM_POOL_RESERVED_MAX,
    maxAgeMs: env.OS2_WARM_POOL_MAX_AGE_MS,
    limits,
    log,
  });
  const machines = new MachineService({
    pool,
    listCache: machineLists,
    changes,
    limits,
    installationId,
    orphanGraceMs: env.OS2_ORPHAN_GRACE_MS,
    stuckAfterMs: env.OS2_STUCK_AFTER_MS,
    db,
    encryptor,
    providers,
    stage,
    log,
    publish: (organizationId, keys) => realtime.publish(organizationId, keys),
    hooks: {
      onReady: ({ machine, organizationId, timeToReadyMs }) =>
        captureMachineReady(analytics, {
          machineId: machine.id,
          organizationId,
          projectId: machine.projectId,
          provider: machine.type,
          timeToReadyMs,
          ...(machine.createdBy ? { userId: machine.createdBy } : {}),
        }),
      onFailed: ({ machine, organizationId, reason }) =>
        captureMachineFailed(analytics, {
          machineId: machine.id,
          organizationId,
          projectId: machine.projectId,
          provider: machine.type,
          reason,
          ...(machine.createdBy ? { userId: machine.createdBy } : {}),
        }),
    },
  });
  const reconciler = new Reconciler({
    db,
    leadership: database.leadership,
    lifecycle: machines.lifecycle,
    providers,
    log,
    intervalMs: env.RECONCILE_INTERVAL_MS,
    pool,
  });
  const services = createServices({
    db,
    auth,
    encryptor,
    machines,
    maxLiveStreams: env.OS2_MAX_LIVE_STREAMS,
    accessCacheMs: env.OS2_ACCESS_CACHE_MS,
  });
  // With PostgreSQL, other instances may be serving the same users: what this one forgets, they forget too.
  if (database.pubsub) await shareAccessForgets({ access: services.access, pubsub: database.pubsub, log });
  const previewOrigin = env.OS2_PREVIEW_URL
    ? PreviewOrigin.fromTemplate(env.OS2_PREVIEW_URL)
    : PreviewOrigin.defaultFor(env.PORT);
  const dashboardUrl = new URL(publicUrl);
  const trustedOrigins = new Set([dashboardUrl.origin, ...trustedAuthOrigins(env.PORT)]);
  const live = new LiveConnections(log);
  const previewUrlFor = (machineId: string, port: number) => previewOrigin.urlFor(machineId, port);

  const deps: AppDeps = {
    services,
    encryptor,
    stage,
    log,
    mutationObserver: combineObservers(realtimeObserver, analyticsObserver, ...(options.mutationObservers ?? [])),
    googleEnabled: Boolean(google),
    emailDelivery: mailer.delivery,
    previewUrlFor,
  };

  const app = new Hono();
  // Cookie-carrying state changes must come from the dashboard's own pages (see http/origin-guard.ts).
  app.use("*", async (c, next) => {
    // /ingest forwards analytics to PostHog without any cookie or credential: nothing there to forge.
    if (c.req.path.startsWith("/ingest/")) return next();
    const refusal = crossSiteRefusal(
      { method: c.req.method, upgrade: false, cookie: c.req.header("cookie"), origin: c.req.header("origin") },
      trustedOrigins,
    );
    if (refusal) return c.json({ error: refusal }, 403);
    await next();
  });
  app.get("/api/health", (c) => c.json({ status: "ok", stage }));
  // What the dashboard's outage banner reads: public, and without details of the setup beyond "reachable".
  const status = new StatusService({ db, machines });
  app.get("/api/status", async (c) => {
    const current = await status.current();
    return c.json({
      status: current.status,
      database: { ok: current.database.ok },
      providers: current.providers.map((provider) => ({ type: provider.type, ok: provider.ok })),
    });
  });
  app.onError((error, c) => {
    if (isDatabaseOutage(error)) return c.json({ error: DATABASE_OUTAGE_MESSAGE }, 503);
    log.error("a request failed", { path: c.req.path, stack: error.stack ?? String(error) });
    return c.json({ error: "Internal error; it has been logged." }, 500);
  });
  app.on(["GET", "POST"], "/api/auth/*", (c) => auth.handler(withClientAddress(c.req.raw, c.env, env.OS2_TRUST_PROXY)));
  app.route("/ingest", createIngestProxy({ posthogHost: env.POSTHOG_HOST }));
  app.use("/api/trpc/*", trpcLimits());
  app.all("/api/trpc/*", (c) =>
    fetchRequestHandler({
      endpoint: "/api/trpc",
      req: c.req.raw,
      router: appRouter,
      maxBatchSize: TRPC_MAX_BATCH,
      createContext: () => createContext(deps, c.req.raw.headers),
    }),
  );
  app.get(PREVIEW_OPEN_PATH, (c) => openPreview(c, { services, previewOrigin }));
  app.use(
    `${API_PREFIX}/*`,
    bodyLimit({
      maxSize: API_MAX_BODY_BYTES,
      onError: (c) => c.json(apiFailure(413, "payload_too_large", "The request body is over 1 MiB.").body, 413),
    }),
  );
  app.route(API_PREFIX, createApiV1(deps));

  const edge = createEdge({
    previewOrigin,
    trustedOrigins,
    log,
    dashboardDoor: createDashboardDoor({
      access: services.access,
      machines,
      live,
      log,
      publicUrl: dashboardUrl,
      trustProxy: env.OS2_TRUST_PROXY,
      previewUrlFor,
    }),
    previewDoor: createPreviewDoor({
      access: services.access,
      previews: services.previews,
      machines,
      live,
      origin: previewOrigin,
      log,
      dashboardUrl,
      trustProxy: env.OS2_TRUST_PROXY,
    }),
    resolveDaemonRoute: (headers, match) => resolveDaemonRoute({ access: services.access, machines }, headers, match),
    upgradeFallback: (request, socket, head, pathname) => {
      if (pathname !== REALTIME_PATH) return false;
      realtime.handleUpgrade(request, socket, head);
      return true;
    },
  });
  if (options.startReconciler !== false) reconciler.start();
  // Expired preview tickets and sessions are useless; drop them now and then.
  const pruneTimer = setInterval(() => {
    services.previews
      .prune()
      .catch((error: unknown) => log.warn("pruning preview sessions failed", { error: String(error) }));
  }, PREVIEW_PRUNE_INTERVAL_MS);
  pruneTimer.unref();

  const honoListener = getRequestListener(app.fetch);
  const serveWithHono = (request: IncomingMessage, response: ServerResponse) => {
    honoListener(request, response).catch((error: unknown) =>
      log.error("serving a request failed", { error: String(error) }),
    );
  };
  const attach = (server: Server) => {
    server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) =>
      edge.handleUpgrade(request, socket, head),
    );
  };

  return {
    app,
    deps,
    database,
    realtime,
    analytics,
    machines,
    reconciler,
    pool,
    providers,
    publicUrl,
    previewOrigin,
    installationId,
    handleRequest: edge.handleRequest,
    handleUpgrade: edge.handleUpgrade,
    attach,
    createServer() {
      const server = createNodeServer((request, response) =>
        edge.handleRequest(request, response, () => serveWithHono(request, response)),
      );
      attach(server);
      return server;
    },
    closeConnections() {
      live.closeAll();
      realtime.close();
    },
    async close() {
      clearInterval(pruneTimer);
      await reconciler.stop();
      machines.close();
      await machines.settle().catch(() => undefined);
      live.closeAll();
      realtime.close();
      await analytics.shutdown();
      await database.close();
    },
  };
}

function createProviders(
  env: Env,
  stage: string,
  dockerHost: string,
  previewTokenStore: DatabasePreviewTokenStore,
): ProviderRegistry {
  return {
    "local-docker": new LocalDockerProvider({
      dockerHost,
      imageName: env.LOCAL_DOCKER_IMAGE_NAME,
      stage,
      network: env.OS2_MACHINE_NETWORK,
      runtime: env.OS2_MACHINE_RUNTIME,
    }),
    // Without an API key Daytona is listed as unavailable, with the variable to set.
    daytona: env.DAYTONA_API_KEY
      ? new DaytonaProvider({
          apiKey: env.DAYTONA_API_KEY,
          ...(env.DAYTONA_API_URL ? { apiUrl: env.DAYTONA_API_URL } : {}),
          ...(env.DAYTONA_ORGANIZATION_ID ? { organizationId: env.DAYTONA_ORGANIZATION_ID } : {}),
          snapshotPrefix: env.DAYTONA_SNAPSHOT_PREFIX ?? defaultSnapshotPrefix(stage),
          autoStopMinutes: env.DAYTONA_AUTO_STOP_MINUTES,
          stage,
          previewTokenStore,
        })
      : createUnconfiguredDaytonaProvider(),
  };
}

/**
 * Rate limits key on the client's address. Unless os2 sits behind a trusted reverse proxy, a client-sent
 * X-Forwarded-For must not count (it would let anyone pick their own bucket), so it is replaced with the
 * socket's address. In-process calls (tests) have no socket and pass through unchanged.
 */
function withClientAddress(request: Request, bindings: unknown, trustProxy: boolean): Request {
  const incoming = (bindings as { incoming?: IncomingMessage } | undefined)?.incoming;
  const address = incoming?.socket.remoteAddress;
  if (trustProxy || !address) return request;
  const headers = new Headers(request.headers);
  headers.set("x-forwarded-for", address.replace(/^::ffff:/, ""));
  return new Request(request, { headers });
}

const PREVIEW_PRUNE_INTERVAL_MS = 10 * 60_000;

/**
 * Machines sit on a bridge whose gateway is this host: anything here that listens on all interfaces is
 * reachable from inside every machine. The defaults bind loopback; say so loudly when they do not.
 */
function warnAboutExposure(env: Env, log: Logger) {
  if (env.HOST === "0.0.0.0" || env.HOST === "::") {
    log.warn(
      `HOST=${env.HOST}: the control plane listens on every interface, which machines on this host can reach ` +
        "through their network's gateway. Bind 127.0.0.1 and put a reverse proxy in front instead.",
    );
  }
  const dockerHost = env.DOCKER_HOST ?? "";
  if (/^tcp:\/\/(0\.0\.0\.0|\[::\])/.test(dockerHost)) {
    log.warn(
      `DOCKER_HOST=${dockerHost}: a Docker API on every interface lets any machine on this host control Docker.`,
    );
  }
}

function installationLimits(env: Env): InstallationLimits {
  return {
    defaults: {
      cpuMillis: env.OS2_MACHINE_CPUS,
      memoryMb: env.OS2_MACHINE_MEMORY,
      pids: env.OS2_MACHINE_PIDS,
      diskMb: env.OS2_MACHINE_DISK ?? null,
    },
    maximum: {
      cpuMillis: env.OS2_MAX_MACHINE_CPUS,
      memoryMb: env.OS2_MAX_MACHINE_MEMORY,
      pids: env.OS2_MAX_MACHINE_PIDS,
    },
    maxRunningMachinesPerOrganization: env.OS2_MAX_RUNNING_MACHINES_PER_ORG,
    profile: env.OS2_MACHINE_PROFILE,
  };
}

/** Besides the public URL, the loopback names of the server's own port are the dashboard too. */
function trustedAuthOrigins(port: number): string[] {
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
}
