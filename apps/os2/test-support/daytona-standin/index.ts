/**
 * A local stand-in for Daytona's REST API (https://app.daytona.io/api), for tests on machines that cannot
 * reach Daytona. Tests drive it through the real `@daytonaio/sdk` (with `useDeprecatedPolling: true`).
 *
 * Spec it follows: the request/response types of `@daytona/api-client` 0.218 (same paths and models as the
 * published `@daytonaio/api-client`, restated in dto.ts), and the wire facts observed against the real SDK
 * in `/work/shared/reference/daytona-wire.md` (which answers the SDK needs, how it polls, how it uploads
 * build contexts and follows build logs).
 *
 * What is real here: each sandbox is a real container of a local image on the Docker Engine
 * (tcp://127.0.0.1:2375), with the env vars from the create request; the preview proxy demands the token
 * and forwards HTTP and WebSocket to the container; snapshot builds take the SDK's S3 uploads (s3rver) and
 * build them with the Docker Engine, streaming the real build log.
 *
 * What it does not model: regions/runners, quotas, resources, auto-stop timers, toolbox API (os2 reaches
 * its daemon through preview URLs), archived sandboxes' storage (an archived sandbox keeps its stopped
 * container), JWT/organization headers. Errors use Daytona's NestJS shape `{statusCode, message, error}`.
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";

import { serve, type ServerType } from "@hono/node-server";
import type Dockerode from "dockerode";
import { type Context, Hono } from "hono";
import { stream } from "hono/streaming";

import {
  createSandboxSchema,
  createSnapshotSchema,
  errorBody,
  replaceLabelsSchema,
  type SandboxDto,
  type SandboxState,
  type SnapshotDto,
} from "./dto";
import { ObjectStorage } from "./object-storage";
import { PreviewProxy, type PreviewTarget } from "./preview-proxy";
import { buildSnapshotImage } from "./snapshot-builder";

/** Label on every container and image the stand-in makes, so cleanup can find them. */
export const STANDIN_LABEL = "os2.test.daytona-standin";
const ORGANIZATION_ID = "standin-org";
const DEFAULT_SNAPSHOT = "daytona-standin-default";
/**
 * A Daytona build reports `building` for many seconds (it also pushes the image afterwards). The SDK polls
 * once a second and starts streaming the log only after it has seen a state other than `pending`, so a
 * local build that ends within one poll would skip the log entirely; the stand-in keeps `building` at
 * least this long.
 */
const MIN_BUILD_MS = 1500;

function finishNoSoonerThan(time: number, finish: () => void): void {
  setTimeout(finish, Math.max(0, time - Date.now()));
}

export type DaytonaStandinOptions = {
  docker: Dockerode;
  /** Image for sandboxes created without a snapshot, and the default for `addSnapshot`. */
  image: string;
  apiKey: string;
  /** Container ports published to 127.0.0.1 (others are reached on the container's bridge IP). */
  publishedPorts?: number[];
};

export type DaytonaStandin = {
  /** Base URL to pass to the SDK as `apiUrl`, e.g. http://127.0.0.1:1234/api */
  apiUrl: string;
  /** Registers a snapshot directly (as if built earlier), by default an active one of the stand-in's image. */
  addSnapshot(input: {
    name: string;
    imageName?: string;
    state?: SnapshotDto["state"];
    createdAt?: Date;
    resources?: { cpu?: number; memory?: number; disk?: number };
  }): SnapshotDto;
  /** Rotates the preview token of a sandbox port; requests with the old token get 401. */
  rotatePreviewToken(sandboxId: string, port: number): string;
  /** The Docker container that backs a sandbox. */
  containerId(sandboxId: string): string | undefined;
  /** The sandbox as the API would return it (a copy), for assertions. */
  sandbox(sandboxId: string): SandboxDto | undefined;
  /** Every API request the stand-in answered, in order (method and path with query). */
  requests: Array<{ method: string; path: string }>;
  close(): Promise<void>;
};

type SandboxRecord = { dto: SandboxDto; containerId?: string; busy: Promise<void> };
type SnapshotRecord = { dto: SnapshotDto; image: string; log: string; logListeners: Set<() => void>; done: boolean };

export async function startDaytonaStandin(options: DaytonaStandinOptions): Promise<DaytonaStandin> {
  const instanceId = randomUUID().slice(0, 8);
  const docker = options.docker;
  const publishedPorts = options.publishedPorts ?? [3000];
  const sandboxes = new Map<string, SandboxRecord>();
  const snapshots = new Map<string, SnapshotRecord>();
  const preview = new PreviewProxy();
  const storage = await ObjectStorage.start();
  const requests: DaytonaStandin["requests"] = [];
  const builtImages = new Set<string>();
  let apiUrl = "";

  const now = () => new Date().toISOString();
  const findSandbox = (idOrName: string) =>
    sandboxes.get(idOrName) ?? [...sandboxes.values()].find((record) => record.dto.name === idOrName);
  const findSnapshot = (idOrName: string) =>
    snapshots.get(idOrName) ?? [...snapshots.values()].find((record) => record.dto.name === idOrName);
  const setState = (record: SandboxRecord, state: SandboxState, errorReason?: string) => {
    record.dto.state = state;
    record.dto.updatedAt = now();
    if (errorReason !== undefined) record.dto.errorReason = errorReason;
  };
  /** Container work runs one operation at a time per sandbox, in the background, like Daytona's runners. */
  const inBackground = (record: SandboxRecord, work: () => Promise<void>) => {
    record.busy = record.busy.then(work).catch((error: unknown) => {
      setState(record, "error", error instanceof Error ? error.message : String(error));
    });
  };

  const addSnapshot: DaytonaStandin["addSnapshot"] = (input) => {
    const createdAt = (input.createdAt ?? new Date()).toISOString();
    const dto: SnapshotDto = {
      id: randomUUID(),
      organizationId: ORGANIZATION_ID,
      general: false,
      name: input.name,
      imageName: input.imageName ?? options.image,
      state: input.state ?? "active",
      size: null,
      entrypoint: null,
      // Daytona's defaults, unless the create asked for more (1 vCPU, 1 GiB, 3 GiB).
      cpu: input.resources?.cpu ?? 1,
      gpu: 0,
      mem: input.resources?.memory ?? 1,
      disk: input.resources?.disk ?? 3,
      errorReason: null,
      createdAt,
      updatedAt: createdAt,
      lastUsedAt: null,
      regionIds: ["standin"],
      sourceSandboxId: null,
    };
    snapshots.set(dto.id, {
      dto,
      image: input.imageName ?? options.image,
      log: "",
      logListeners: new Set(),
      done: true,
    });
    return dto;
  };

  async function createContainer(record: SandboxRecord, image: string): Promise<void> {
    const exposed: Record<string, object> = {};
    const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
    for (const port of publishedPorts) {
      exposed[`${port}/tcp`] = {};
      bindings[`${port}/tcp`] = [{ HostIp: "127.0.0.1", HostPort: "" }];
    }
    const container = await docker.createContainer({
      Image: image,
      name: `daytona-standin-${instanceId}-${record.dto.id.slice(0, 8)}`,
      Env: Object.entries(record.dto.env).map(([key, value]) => `${key}=${value}`),
      // The stand-in's own labels only: the os2.* labels live on the Daytona sandbox, and a container
      // carrying them would be claimed by the local-docker provider's reconciler.
      Labels: { [STANDIN_LABEL]: instanceId, [`${STANDIN_LABEL}.sandbox-id`]: record.dto.id },
      ExposedPorts: exposed,
      HostConfig: { PortBindings: bindings },
    });
    record.containerId = container.id;
    await container.start();
  }

  async function previewTarget(sandboxId: string, port: number): Promise<PreviewTarget | { unavailable: string }> {
    const record = sandboxes.get(sandboxId);
    if (!record?.containerId) return { unavailable: `Sandbox ${sandboxId} not found` };
    if (record.dto.state !== "started")
      return { unavailable: `Sandbox ${sandboxId} is not started (${record.dto.state})` };
    const info = await docker.getContainer(record.containerId).inspect();
    const hostPort = info.NetworkSettings.Ports[`${port}/tcp`]?.[0]?.HostPort;
    if (hostPort) return { host: "127.0.0.1", port: Number(hostPort) };
    const ip = Object.values(info.NetworkSettings.Networks)[0]?.IPAddress;
    return ip ? { host: ip, port } : { unavailable: `Port ${port} of sandbox ${sandboxId} is not reachable` };
  }

  const app = new Hono();
  const notFound = (c: Context, what: string) => c.json(errorBody(404, `${what} not found`), 404);
  const badState = (c: Context, message: string) => c.json(errorBody(400, message), 400);

  app.use("/api/*", async (c, next) => {
    requests.push({ method: c.req.method, path: c.req.path + (new URL(c.req.url).search || "") });
    if (c.req.header("authorization") !== `Bearer ${options.apiKey}`) {
      return c.json(errorBody(401, "Invalid credentials"), 401);
    }
    await next();
  });

  // ---- sandboxes -------------------------------------------------------------------------------------
  app.post("/api/sandbox", async (c) => {
    const parsed = createSandboxSchema.safeParse(await c.req.json().catch(() => null));
    if (!parsed.success) return c.json(errorBody(400, parsed.error.message), 400);
    const body = parsed.data;
    if (body.buildInfo) return badState(c, "The stand-in creates sandboxes from snapshots only");
    let image = options.image;
    if (body.snapshot) {
      const snapshot = findSnapshot(body.snapshot);
      if (!snapshot) return notFound(c, `Snapshot ${body.snapshot}`);
      if (snapshot.dto.state !== "active") return badState(c, `Snapshot ${body.snapshot} is not active`);
      image = snapshot.image;
      snapshot.dto.lastUsedAt = now();
    }
    const id = randomUUID();
    if (body.name && findSandbox(body.name))
      return c.json(errorBody(409, `Sandbox with name ${body.name} already exists`), 409);
    const timestamp = now();
    const record: SandboxRecord = {
      busy: Promise.resolve(),
      dto: {
        id,
        organizationId: ORGANIZATION_ID,
        name: body.name ?? id,
        snapshot: body.snapshot ?? DEFAULT_SNAPSHOT,
        user: body.user ?? "daytona",
        env: body.env ?? {},
        labels: body.labels ?? {},
        public: body.public ?? false,
        networkBlockAll: false,
        target: body.target ?? "standin",
        cpu: body.cpu ?? 1,
        gpu: 0,
        memory: body.memory ?? 1,
        disk: body.disk ?? 3,
        state: "creating",
        desiredState: "started",
        backupState: "None",
        autoStopInterval: body.autoStopInterval ?? 15,
        autoArchiveInterval: body.autoArchiveInterval ?? 7 * 24 * 60,
        autoDeleteInterval: body.autoDeleteInterval ?? -1,
        createdAt: timestamp,
        updatedAt: timestamp,
        toolboxProxyUrl: `${apiUrl}/toolbox-standin`,
      },
    };
    sandboxes.set(id, record);
    inBackground(record, async () => {
      await createContainer(record, image);
      setState(record, "started");
    });
    return c.json(record.dto);
  });

  app.get("/api/sandbox", (c) => {
    const labelsParam = c.req.query("labels");
    let selector: Record<string, string> = {};
    if (labelsParam) {
      try {
        selector = JSON.parse(labelsParam) as Record<string, string>;
      } catch {
        return badState(c, "labels must be a JSON object");
      }
    }
    const limit = Math.min(Number(c.req.query("limit") ?? 100) || 100, 200);
    const offset = Number(c.req.query("cursor") ?? 0) || 0;
    const matching = [...sandboxes.values()]
      .map((record) => record.dto)
      .filter((dto) => dto.state !== "destroyed")
      .filter((dto) => Object.entries(selector).every(([key, value]) => dto.labels[key] === value));
    const page = matching.slice(offset, offset + limit);
    const nextCursor = offset + limit < matching.length ? String(offset + limit) : null;
    return c.json({ items: page, nextCursor });
  });

  app.get("/api/sandbox/:id", (c) => {
    const record = findSandbox(c.req.param("id"));
    return record ? c.json(record.dto) : notFound(c, `Sandbox ${c.req.param("id")}`);
  });

  app.post("/api/sandbox/:id/start", (c) => {
    const record = findSandbox(c.req.param("id"));
    if (!record) return notFound(c, `Sandbox ${c.req.param("id")}`);
    const { state } = record.dto;
    if (state === "started") return c.json(record.dto);
    if (state !== "stopped" && state !== "archived") return badState(c, `Sandbox is ${state}, cannot start it`);
    setState(record, state === "archived" ? "restoring" : "starting");
    record.dto.desiredState = "started";
    inBackground(record, async () => {
      if (!record.containerId) throw new Error("Sandbox has no container");
      await docker.getContainer(record.containerId).start();
      setState(record, "started");
    });
    return c.json(record.dto);
  });

  app.post("/api/sandbox/:id/stop", (c) => {
    const record = findSandbox(c.req.param("id"));
    if (!record) return notFound(c, `Sandbox ${c.req.param("id")}`);
    if (record.dto.state !== "started") return badState(c, `Sandbox is not started (${record.dto.state})`);
    setState(record, "stopping");
    record.dto.desiredState = "stopped";
    inBackground(record, async () => {
      if (record.containerId) await docker.getContainer(record.containerId).stop({ t: 2 }).catch(ignoreNotModified);
      setState(record, "stopped");
    });
    return c.json(record.dto);
  });

  app.post("/api/sandbox/:id/archive", (c) => {
    const record = findSandbox(c.req.param("id"));
    if (!record) return notFound(c, `Sandbox ${c.req.param("id")}`);
    if (record.dto.state === "archived") return c.json(record.dto);
    if (record.dto.state !== "stopped") return badState(c, `Sandbox is not stopped (${record.dto.state})`);
    setState(record, "archiving");
    record.dto.desiredState = "archived";
    // Daytona moves the filesystem to object storage; the stand-in keeps the stopped container.
    inBackground(record, async () => setState(record, "archived"));
    return c.json(record.dto);
  });

  app.delete("/api/sandbox/:id", (c) => {
    const record = findSandbox(c.req.param("id"));
    if (!record) return notFound(c, `Sandbox ${c.req.param("id")}`);
    setState(record, "destroying");
    record.dto.desiredState = "destroyed";
    inBackground(record, async () => {
      await preview.closeSandbox(record.dto.id);
      if (record.containerId)
        await docker.getContainer(record.containerId).remove({ force: true }).catch(ignoreNotFound);
      setState(record, "destroyed");
      sandboxes.delete(record.dto.id);
    });
    return c.json(record.dto);
  });

  app.put("/api/sandbox/:id/labels", async (c) => {
    const record = findSandbox(c.req.param("id"));
    if (!record) return notFound(c, `Sandbox ${c.req.param("id")}`);
    const parsed = replaceLabelsSchema.safeParse(await c.req.json().catch(() => null));
    if (!parsed.success) return c.json(errorBody(400, parsed.error.message), 400);
    record.dto.labels = parsed.data.labels;
    return c.json({ labels: record.dto.labels });
  });

  app.get("/api/sandbox/:id/toolbox-proxy-url", (c) => {
    const record = findSandbox(c.req.param("id"));
    return record ? c.json({ url: record.dto.toolboxProxyUrl }) : notFound(c, `Sandbox ${c.req.param("id")}`);
  });

  app.get("/api/sandbox/:id/ports/:port/preview-url", async (c) => {
    const record = findSandbox(c.req.param("id"));
    if (!record) return notFound(c, `Sandbox ${c.req.param("id")}`);
    const port = Number(c.req.param("port"));
    if (!Number.isInteger(port) || port < 1 || port > 65535) return badState(c, "Invalid port");
    const sandboxId = record.dto.id;
    const link = await preview.open({ sandboxId, port, resolveTarget: () => previewTarget(sandboxId, port) });
    return c.json({ sandboxId, url: link.url, token: link.token });
  });

  // ---- snapshots -------------------------------------------------------------------------------------
  app.get("/api/snapshots", (c) => {
    const page = Math.max(1, Number(c.req.query("page") ?? 1) || 1);
    const limit = Math.max(1, Math.min(Number(c.req.query("limit") ?? 100) || 100, 200));
    const name = c.req.query("name")?.toLowerCase();
    const sort = c.req.query("sort") ?? "createdAt";
    const order = c.req.query("order") === "asc" ? 1 : -1;
    const sortKey = (dto: SnapshotDto): string =>
      sort === "name"
        ? dto.name
        : sort === "state"
          ? dto.state
          : sort === "lastUsedAt"
            ? (dto.lastUsedAt ?? "")
            : dto.createdAt;
    // Daytona matches `name` as a case-insensitive substring.
    const all = [...snapshots.values()]
      .map((record) => record.dto)
      .filter((dto) => !name || dto.name.toLowerCase().includes(name))
      .sort((a, b) => order * sortKey(a).localeCompare(sortKey(b)));
    const items = all.slice((page - 1) * limit, page * limit);
    return c.json({ items, total: all.length, page, totalPages: Math.max(1, Math.ceil(all.length / limit)) });
  });

  app.get("/api/snapshots/:id", (c) => {
    const record = findSnapshot(c.req.param("id"));
    return record ? c.json(record.dto) : notFound(c, `Snapshot ${c.req.param("id")}`);
  });

  app.post("/api/snapshots", async (c) => {
    const parsed = createSnapshotSchema.safeParse(await c.req.json().catch(() => null));
    if (!parsed.success) return c.json(errorBody(400, parsed.error.message), 400);
    const body = parsed.data;
    if (findSnapshot(body.name)) return c.json(errorBody(409, `Snapshot with name ${body.name} already exists`), 409);
    if (!body.imageName && !body.buildInfo) return badState(c, "Either imageName or buildInfo is required");
    const dto = addSnapshot({
      name: body.name,
      state: "pending",
      ...(body.imageName ? { imageName: body.imageName } : {}),
      resources: {
        ...(body.cpu === undefined ? {} : { cpu: body.cpu }),
        ...(body.memory === undefined ? {} : { memory: body.memory }),
        ...(body.disk === undefined ? {} : { disk: body.disk }),
      },
    });
    const record = snapshots.get(dto.id);
    if (!record) throw new Error("unreachable: snapshot just added");
    record.done = false;
    const appendLog = (text: string) => {
      record.log += text;
      record.logListeners.forEach((notify) => notify());
    };
    const finish = (state: "active" | "error" | "build_failed", errorReason: string | null) => {
      record.dto.state = state;
      record.dto.errorReason = errorReason;
      record.dto.updatedAt = now();
      record.done = true;
      record.logListeners.forEach((notify) => notify());
    };
    if (body.buildInfo) {
      const buildInfo = body.buildInfo;
      const tag = `daytona-standin-${instanceId}:${dto.id}`;
      record.image = tag;
      delete record.dto.imageName;
      record.dto.buildInfo = {
        dockerfileContent: buildInfo.dockerfileContent,
        contextHashes: buildInfo.contextHashes ?? [],
        createdAt: dto.createdAt,
        updatedAt: dto.createdAt,
        snapshotRef: tag,
      };
      // Answer first (state pending), then build, as Daytona's builder does asynchronously.
      setTimeout(() => {
        record.dto.state = "building";
        const buildStarted = Date.now();
        builtImages.add(tag);
        buildSnapshotImage({
          docker,
          storage,
          organizationId: ORGANIZATION_ID,
          dockerfileContent: buildInfo.dockerfileContent,
          contextHashes: buildInfo.contextHashes ?? [],
          tag,
          labels: { [STANDIN_LABEL]: instanceId },
          onLog: appendLog,
        }).then(
          () => finishNoSoonerThan(buildStarted + MIN_BUILD_MS, () => finish("active", null)),
          (error: unknown) =>
            finishNoSoonerThan(buildStarted + MIN_BUILD_MS, () =>
              finish("build_failed", error instanceof Error ? error.message : String(error)),
            ),
        );
      }, 50);
    } else {
      const imageName = body.imageName ?? options.image;
      // Daytona would pull the image; with no registry here it must already exist locally.
      setTimeout(() => {
        record.dto.state = "pulling";
        docker
          .getImage(imageName)
          .inspect()
          .then(
            () => finish("active", null),
            () => finish("error", `Image ${imageName} not found (the stand-in cannot pull images)`),
          );
      }, 50);
    }
    return c.json(record.dto);
  });

  app.get("/api/snapshots/:id/build-logs-url", (c) => {
    const record = findSnapshot(c.req.param("id"));
    if (!record) return notFound(c, `Snapshot ${c.req.param("id")}`);
    return c.json({ url: `${apiUrl}/snapshots/${record.dto.id}/build-logs-stream` });
  });

  app.get("/api/snapshots/:id/build-logs-stream", (c) => {
    const record = findSnapshot(c.req.param("id"));
    if (!record) return notFound(c, `Snapshot ${c.req.param("id")}`);
    const follow = c.req.query("follow") === "true";
    c.header("content-type", "text/plain; charset=utf-8");
    return stream(c, async (out) => {
      let sent = 0;
      const flush = async () => {
        if (record.log.length > sent) {
          const chunk = record.log.slice(sent);
          sent = record.log.length;
          await out.write(chunk);
        }
      };
      await flush();
      if (!follow) return;
      while (!record.done && !out.aborted) {
        await new Promise<void>((resolve) => {
          const notify = () => {
            record.logListeners.delete(notify);
            resolve();
          };
          record.logListeners.add(notify);
        });
        await flush();
      }
      await flush();
    });
  });

  app.get("/api/object-storage/push-access", (c) => c.json(storage.pushAccess(ORGANIZATION_ID)));

  app.all("*", (c) => {
    process.stderr.write(`daytona-standin: unhandled ${c.req.method} ${c.req.path}\n`);
    return c.json(errorBody(404, `Cannot ${c.req.method} ${c.req.path}`), 404);
  });

  const server: ServerType = await new Promise((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(started));
  });
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;

  return {
    apiUrl,
    addSnapshot,
    rotatePreviewToken: (sandboxId, port) => preview.rotateToken(sandboxId, port),
    containerId: (sandboxId) => sandboxes.get(sandboxId)?.containerId,
    sandbox: (sandboxId) => {
      const record = sandboxes.get(sandboxId);
      return record ? structuredClone(record.dto) : undefined;
    },
    requests,
    async close() {
      await preview.closeAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...sandboxes.values()].map((record) => record.busy));
      await removeStandinResources(docker, instanceId, builtImages);
      await storage.close();
    },
  };
}

/** Removes every container and image labelled by this stand-in instance (also after a failed test). */
async function removeStandinResources(docker: Dockerode, instanceId: string, images: Set<string>): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${STANDIN_LABEL}=${instanceId}`] } });
  await Promise.all(
    containers.map((info) => docker.getContainer(info.Id).remove({ force: true }).catch(ignoreNotFound)),
  );
  for (const image of images) await docker.getImage(image).remove({ force: true }).catch(ignoreNotFound);
}

function statusCodeOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("statusCode" in error)) return undefined;
  return typeof error.statusCode === "number" ? error.statusCode : undefined;
}

function ignoreNotFound(error: unknown): void {
  if (statusCodeOf(error) !== 404) throw error;
}

function ignoreNotModified(error: unknown): void {
  if (statusCodeOf(error) !== 304) throw error;
}
