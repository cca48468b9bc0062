/**
 * Machines: the database row is the intent (desired state) and the record of what was observed; the
 * provider holds the real container or sandbox. Every transition is written as a machine event with its
 * reason, and pushed to the organization's dashboards.
 *
 * Ordering makes crashes safe: the row is written before the provider creates anything (so a container
 * never exists without a row), and the row is deleted only after the provider deleted the container. The
 * reconciler (reconciler.ts) finishes whatever a crash interrupted.
 */
import { and, asc, desc, eq, inArray, ne } from "drizzle-orm";
import { randomToken, type Encryptor, MASKED_VALUE } from "../../crypto.ts";
import type { Db } from "../../db/client.ts";
import {
  machine,
  machineEvent,
  type MachineDesiredState,
  type MachineEventReason,
  type MachineObservedState,
} from "../../db/schema/machine.ts";
import { project } from "../../db/schema/project.ts";
import { projectEnvVar } from "../../db/schema/project-env-var.ts";
import { newId } from "../../ids.ts";
import type { Logger } from "../../logger.ts";
import { isProviderError } from "../../providers/errors.ts";
import { getProvider, type ProviderRegistry } from "../../providers/registry.ts";
import {
  MACHINE_TYPES,
  type DaemonEndpoint,
  type MachineLabels,
  type MachineProvider,
  type MachineType,
} from "../../providers/types.ts";
import { DomainError, notFound } from "../errors.ts";
import { DAEMON_PORT, waitForHealth } from "./daemon-health.ts";
import { KeyedMutex } from "./keyed-mutex.ts";
import { SYSTEM_ENV_KEYS, buildMachineEnv } from "./machine-env.ts";

export type Machine = typeof machine.$inferSelect;
export type PublicMachine = Omit<Machine, "authTokenEncrypted">;

/** Where a later feature (analytics) hooks into the lifecycle: `machine_ready` and `machine_failed`. */
export type MachineLifecycleHooks = {
  onReady(event: { machine: PublicMachine; organizationId: string; timeToReadyMs: number }): void;
  onFailed(event: { machine: PublicMachine; organizationId: string; reason: string }): void;
};

export type MachineServiceOptions = {
  db: Db;
  encryptor: Encryptor;
  providers: ProviderRegistry;
  stage: string;
  log: Logger;
  publish(organizationId: string, keys: string[]): void;
  hooks?: MachineLifecycleHooks;
  healthTimeoutMs?: number;
};

const INVALIDATES = ["machine"];
const ENDPOINT_CACHE_MS = 5_000;

export function toPublicMachine(row: Machine): PublicMachine {
  const { authTokenEncrypted: _secret, ...rest } = row;
  return rest;
}

export class MachineService {
  readonly mutex = new KeyedMutex();
  private readonly endpoints = new Map<string, { endpoint: DaemonEndpoint; expires: number }>();
  private readonly organizationByProject = new Map<string, string>();
  /** One boot watcher per machine; aborted when the machine should no longer run, or on close. */
  private readonly watchers = new Map<string, AbortController>();
  private readonly background = new Set<Promise<unknown>>();
  private closed = false;

  constructor(private readonly options: MachineServiceOptions) {}

  get stage() {
    return this.options.stage;
  }

  labelsFor(row: Pick<Machine, "id" | "projectId">): MachineLabels {
    return {
      "os2.managed": "true",
      "os2.machine-id": row.id,
      "os2.project-id": row.projectId,
      "os2.stage": this.options.stage,
    };
  }

  async availability() {
    return Promise.all(
      MACHINE_TYPES.map(async (type) => {
        const result = await getProvider(this.options.providers, type)
          .availability(AbortSignal.timeout(3_000))
          .catch((error: unknown) => ({ available: false as const, reason: String((error as Error).message ?? error) }));
        return { type, ...result };
      }),
    );
  }

  async list(projectId: string, options: { includeArchived?: boolean } = {}) {
    const rows = await this.options.db
      .select()
      .from(machine)
      .where(
        and(
          eq(machine.projectId, projectId),
          ne(machine.desiredState, "deleted"),
          options.includeArchived ? undefined : ne(machine.desiredState, "archived"),
        ),
      )
      .orderBy(desc(machine.createdAt));
    return rows.map(toPublicMachine);
  }

  async get(projectId: string, machineId: string): Promise<Machine> {
    const [row] = await this.options.db
      .select()
      .from(machine)
      .where(and(eq(machine.id, machineId), eq(machine.projectId, projectId)));
    if (!row || row.desiredState === "deleted") throw notFound("Machine");
    return row;
  }

  async create(input: { projectId: string; name: string; type: MachineType; userId: string | null }) {
    const provider = getProvider(this.options.providers, input.type);
    const availability = await provider.availability(AbortSignal.timeout(5_000));
    if (!availability.available) throw new DomainError("precondition_failed", availability.reason);

    const id = newId("machine");
    const authToken = randomToken(32);
    const now = new Date();
    const [row] = await this.options.db
      .insert(machine)
      .values({
        id,
        projectId: input.projectId,
        name: input.name,
        type: input.type,
        desiredState: "running",
        observedState: "creating",
        authTokenEncrypted: this.options.encryptor.encrypt(authToken),
        createdBy: input.userId,
        startRequestedAt: now,
      })
      .returning();
    if (!row) throw new Error("machine insert returned no row");
    await this.recordEvent(row, null, "creating", "user");

    try {
      await this.mutex.run(id, () => this.provision(row));
    } catch (error) {
      // Nothing usable came of it: remove what was made so no container and no row are left behind.
      await this.mutex.run(id, () => this.destroy(row)).catch((cleanupError: unknown) => {
        this.options.log.error("cleanup after a failed create failed; the reconciler will retry", {
          machineId: id,
          error: String(cleanupError),
        });
      });
      this.notifyFailed(row, errorMessage(error));
      throw error;
    }
    this.watchUntilReady(id);
    return toPublicMachine(await this.get(input.projectId, id));
  }

  /** Creates the container/sandbox for a row that has none yet, and records `starting`. */
  async provision(row: Machine): Promise<void> {
    const provider = getProvider(this.options.providers, row.type);
    const envVars = await buildMachineEnv(this.options.db, this.options.encryptor, {
      machineId: row.id,
      projectId: row.projectId,
      stage: this.options.stage,
      authToken: this.options.encryptor.decrypt(row.authTokenEncrypted),
    });
    const created = await provider.create({
      machineId: row.id,
      name: row.name,
      envVars,
      labels: this.labelsFor(row),
      signal: AbortSignal.timeout(120_000),
    });
    await this.options.db
      .update(machine)
      .set({ externalId: created.externalId, metadata: created.metadata, lastError: null })
      .where(eq(machine.id, row.id));
    await this.transition(row.id, "starting", "provider");
  }

  /** Removes the provider's machine (by id, or by labels when the id was never stored) and then the row. */
  async destroy(row: Machine): Promise<void> {
    const provider = getProvider(this.options.providers, row.type);
    if (row.externalId) {
      await provider.delete(row.externalId, AbortSignal.timeout(60_000));
    } else {
      const leftovers = await provider.list({ "os2.machine-id": row.id, "os2.stage": this.options.stage });
      for (const leftover of leftovers) await provider.delete(leftover.externalId, AbortSignal.timeout(60_000));
    }
    await this.options.db.delete(machine).where(eq(machine.id, row.id));
    const organizationId = await this.organizationOf(row.projectId);
    if (organizationId) this.options.publish(organizationId, INVALIDATES);
  }

  async start(projectId: string, machineId: string) {
    const row = await this.get(projectId, machineId);
    if (row.observedState === "error" && !row.externalId) {
      throw new DomainError("precondition_failed", "This machine has no container: recreate it or delete it.");
    }
    await this.mutex.run(machineId, async () => {
      await this.setDesired(machineId, "running", { startRequestedAt: new Date() });
      const current = await this.get(projectId, machineId);
      if (!current.externalId) return this.provision(current);
      await getProvider(this.options.providers, current.type).start(current.externalId, AbortSignal.timeout(60_000));
      await this.transition(machineId, "starting", "user");
    });
    this.watchUntilReady(machineId);
    return toPublicMachine(await this.get(projectId, machineId));
  }

  async stop(projectId: string, machineId: string) {
    await this.get(projectId, machineId);
    await this.mutex.run(machineId, async () => {
      await this.setDesired(machineId, "stopped");
      const current = await this.get(projectId, machineId);
      if (current.externalId) {
        await this.transition(machineId, "stopping", "user");
        await getProvider(this.options.providers, current.type).stop(current.externalId, AbortSignal.timeout(60_000));
      }
      await this.transition(machineId, "stopped", "provider");
    });
    return toPublicMachine(await this.get(projectId, machineId));
  }

  async restart(projectId: string, machineId: string) {
    await this.stop(projectId, machineId);
    return this.start(projectId, machineId);
  }

  async archive(projectId: string, machineId: string) {
    await this.get(projectId, machineId);
    await this.mutex.run(machineId, async () => {
      await this.setDesired(machineId, "archived");
      const current = await this.get(projectId, machineId);
      if (current.externalId) {
        await this.transition(machineId, "stopping", "user");
        await getProvider(this.options.providers, current.type).archive(current.externalId, AbortSignal.timeout(60_000));
      }
      await this.transition(machineId, "archived", "provider");
    });
    return toPublicMachine(await this.get(projectId, machineId));
  }

  /** Restore from the archive: the machine starts again. */
  async unarchive(projectId: string, machineId: string) {
    const row = await this.get(projectId, machineId);
    if (row.desiredState !== "archived") throw new DomainError("precondition_failed", "The machine is not archived.");
    return this.start(projectId, machineId);
  }

  async delete(projectId: string, machineId: string) {
    await this.get(projectId, machineId);
    await this.mutex.run(machineId, async () => {
      await this.setDesired(machineId, "deleted");
      await this.transition(machineId, "deleting", "user");
      const [current] = await this.options.db.select().from(machine).where(eq(machine.id, machineId));
      if (current) await this.destroy(current);
    });
    return { id: machineId };
  }

  /**
   * Deletes every machine of these projects, before the projects themselves are deleted. A machine that
   * fails to delete here loses its row with the project anyway; its container is then an orphan with
   * os2's labels, which the reconciler removes on its next pass.
   */
  async deleteAllInProjects(projectIds: string[]) {
    if (projectIds.length === 0) return;
    const rows = await this.options.db
      .select({ id: machine.id, projectId: machine.projectId })
      .from(machine)
      .where(inArray(machine.projectId, projectIds));
    await Promise.all(
      rows.map((row) =>
        this.delete(row.projectId, row.id).catch((error: unknown) => {
          this.options.log.warn("deleting a machine with its project failed; the reconciler will remove it", {
            machineId: row.id,
            error: errorMessage(error),
          });
        }),
      ),
    );
  }

  /** For a machine whose container vanished: make a new one with the same id, name and env. */
  async recreate(projectId: string, machineId: string) {
    await this.get(projectId, machineId);
    await this.mutex.run(machineId, async () => {
      const current = await this.get(projectId, machineId);
      if (current.externalId) {
        await getProvider(this.options.providers, current.type).delete(current.externalId, AbortSignal.timeout(60_000));
      }
      await this.options.db
        .update(machine)
        .set({ externalId: null, desiredState: "running", startRequestedAt: new Date(), readyAt: null, lastError: null })
        .where(eq(machine.id, machineId));
      await this.transition(machineId, "creating", "user");
      await this.provision(await this.get(projectId, machineId));
    });
    this.watchUntilReady(machineId);
    return toPublicMachine(await this.get(projectId, machineId));
  }

  async events(projectId: string, machineId: string) {
    await this.get(projectId, machineId);
    return this.options.db
      .select()
      .from(machineEvent)
      .where(eq(machineEvent.machineId, machineId))
      .orderBy(asc(machineEvent.createdAt))
      .limit(500);
  }

  async containerLogs(projectId: string, machineId: string, tail: number) {
    const row = await this.get(projectId, machineId);
    const provider = getProvider(this.options.providers, row.type);
    if (!row.externalId || !provider.logs) return "";
    return provider.logs(row.externalId, { tail }, AbortSignal.timeout(10_000));
  }

  /** The keys the machine boots with and where each comes from; values are never read or returned. */
  async effectiveEnv(projectId: string, machineId: string) {
    await this.get(projectId, machineId);
    const rows = await this.options.db
      .select({ key: projectEnvVar.key, machineId: projectEnvVar.machineId })
      .from(projectEnvVar)
      .where(eq(projectEnvVar.projectId, projectId));
    type Source = "project" | "machine" | "system";
    const byKey = new Map<string, Source>();
    for (const row of rows) if (row.machineId === null) byKey.set(row.key, "project");
    for (const row of rows) if (row.machineId === machineId) byKey.set(row.key, "machine");
    for (const key of SYSTEM_ENV_KEYS) byKey.set(key, "system");
    return [...byKey.entries()]
      .map(([key, source]) => ({ key, source, maskedValue: MASKED_VALUE }))
      .sort((a, b) => a.key.localeCompare(b.key));
  }

  /**
   * How the proxy reaches a port of the machine; port 3000 also carries the daemon's credential.
   * Endpoints are cached for a few seconds (asking Docker or Daytona on every proxied request would double
   * its latency) and dropped on every state transition, when ports can change.
   */
  async endpointFor(row: Machine, port: number, signal?: AbortSignal): Promise<DaemonEndpoint> {
    if (!row.externalId) throw new DomainError("precondition_failed", "The machine has no container yet.");
    const key = `${row.id}:${row.externalId}:${port}`;
    const cached = this.endpoints.get(key);
    let endpoint: DaemonEndpoint;
    if (cached && cached.expires > Date.now()) endpoint = cached.endpoint;
    else {
      endpoint = await getProvider(this.options.providers, row.type).daemonEndpoint(row.externalId, port, signal);
      if (this.endpoints.size > 5_000) this.endpoints.clear();
      this.endpoints.set(key, { endpoint, expires: Date.now() + ENDPOINT_CACHE_MS });
    }
    if (port !== DAEMON_PORT) return endpoint;
    const token = this.options.encryptor.decrypt(row.authTokenEncrypted);
    return { url: endpoint.url, headers: { ...endpoint.headers, authorization: `Bearer ${token}` } };
  }

  /** Whether this machine's endpoints carry a preview token that its provider may rotate (Daytona). */
  usesPreviewTokens(row: Pick<Machine, "type">): boolean {
    return "invalidatePreviewToken" in getProvider(this.options.providers, row.type);
  }

  /**
   * The machine answered 401 on an endpoint we handed out: forget it here and the provider's token with
   * it, so the next `endpointFor` fetches a fresh one.
   */
  async rejectEndpoint(row: Machine, port: number): Promise<void> {
    this.forgetEndpoints(row.id);
    const provider: MachineProvider & { invalidatePreviewToken?: (id: string, port: number) => Promise<void> } =
      getProvider(this.options.providers, row.type);
    if (row.externalId && provider.invalidatePreviewToken) await provider.invalidatePreviewToken(row.externalId, port);
  }

  forgetEndpoints(machineId: string) {
    for (const key of this.endpoints.keys()) if (key.startsWith(`${machineId}:`)) this.endpoints.delete(key);
  }

  /** Polls the daemon until it answers, then records `running` (or `error`), unless the intent changed. */
  watchUntilReady(machineId: string): void {
    this.watchers.get(machineId)?.abort();
    const watcher = new AbortController();
    this.watchers.set(machineId, watcher);
    const task = (async () => {
      const [row] = await this.options.db.select().from(machine).where(eq(machine.id, machineId));
      if (!row) return;
      const generation = row.startRequestedAt?.getTime();
      try {
        await waitForHealth({
          endpoint: async () => this.endpointFor((await this.reload(machineId)) ?? row, DAEMON_PORT),
          timeoutMs: this.options.healthTimeoutMs ?? 60_000,
          signal: watcher.signal,
        });
      } catch (error) {
        if (this.closed || watcher.signal.aborted) return;
        await this.mutex.run(machineId, async () => {
          const current = await this.reload(machineId);
          if (!current || current.desiredState !== "running" || current.startRequestedAt?.getTime() !== generation) return;
          await this.transition(machineId, "error", "health", errorMessage(error));
          this.notifyFailed(current, errorMessage(error));
        });
        return;
      }
      await this.mutex.run(machineId, () => this.markReady(machineId, generation));
    })()
      .catch((error: unknown) => {
        if (!this.closed) this.options.log.error("watching a machine boot failed", { machineId, error: String(error) });
      })
      .finally(() => {
        if (this.watchers.get(machineId) === watcher) this.watchers.delete(machineId);
      });
    this.background.add(task);
    void task.finally(() => this.background.delete(task));
  }

  async markReady(machineId: string, generation?: number) {
    const current = await this.reload(machineId);
    if (!current || current.desiredState !== "running") return;
    if (generation !== undefined && current.startRequestedAt?.getTime() !== generation) return;
    if (current.observedState === "running") return;
    const readyAt = new Date();
    const timeToReadyMs = current.startRequestedAt ? readyAt.getTime() - current.startRequestedAt.getTime() : null;
    await this.options.db.update(machine).set({ readyAt, lastError: null }).where(eq(machine.id, machineId));
    await this.transition(machineId, "running", "health", undefined, timeToReadyMs ?? undefined);
    const organizationId = await this.organizationOf(current.projectId);
    if (organizationId && timeToReadyMs !== null) {
      this.options.hooks?.onReady({ machine: toPublicMachine({ ...current, readyAt }), organizationId, timeToReadyMs });
    }
  }

  async reload(machineId: string): Promise<Machine | null> {
    const [row] = await this.options.db.select().from(machine).where(eq(machine.id, machineId));
    return row ?? null;
  }

  async setDesired(machineId: string, desiredState: MachineDesiredState, extra: Partial<Machine> = {}) {
    if (desiredState !== "running") this.watchers.get(machineId)?.abort();
    await this.options.db.update(machine).set({ ...extra, desiredState }).where(eq(machine.id, machineId));
  }

  /** Records a change of observed state (no-op when unchanged) as an event, and tells the dashboards. */
  async transition(
    machineId: string,
    toState: MachineObservedState,
    reason: MachineEventReason,
    detail?: string,
    durationMs?: number,
  ): Promise<void> {
    this.forgetEndpoints(machineId);
    const current = await this.reload(machineId);
    if (!current) return;
    const errorChanged = toState === "error" && current.lastError !== (detail ?? null);
    if (current.observedState === toState && !errorChanged) return;
    await this.options.db
      .update(machine)
      .set({ observedState: toState, ...(toState === "error" ? { lastError: detail ?? "error" } : {}) })
      .where(eq(machine.id, machineId));
    await this.recordEvent(current, current.observedState, toState, reason, detail, durationMs);
  }

  private async recordEvent(
    row: Pick<Machine, "id" | "projectId">,
    fromState: MachineObservedState | null,
    toState: MachineObservedState,
    reason: MachineEventReason,
    detail?: string,
    durationMs?: number,
  ) {
    await this.options.db.insert(machineEvent).values({
      id: newId("machineEvent"),
      machineId: row.id,
      fromState,
      toState,
      reason,
      detail: detail ?? null,
      durationMs: durationMs ?? null,
    });
    const organizationId = await this.organizationOf(row.projectId);
    if (organizationId) this.options.publish(organizationId, INVALIDATES);
  }

  private notifyFailed(row: Machine, reason: string) {
    void this.organizationOf(row.projectId).then((organizationId) => {
      if (organizationId) this.options.hooks?.onFailed({ machine: toPublicMachine(row), organizationId, reason });
    });
  }

  /** A project never changes organization, so the answer is kept: every transition needs it. */
  private async organizationOf(projectId: string): Promise<string | null> {
    const known = this.organizationByProject.get(projectId);
    if (known) return known;
    const [row] = await this.options.db
      .select({ organizationId: project.organizationId })
      .from(project)
      .where(eq(project.id, projectId));
    if (row) this.organizationByProject.set(projectId, row.organizationId);
    return row?.organizationId ?? null;
  }

  /** Waits for background boots and in-flight operations; used at shutdown and by tests. */
  async settle(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
    await this.mutex.drain();
  }

  close() {
    this.closed = true;
    for (const watcher of this.watchers.values()) watcher.abort();
  }
}

export function errorMessage(error: unknown): string {
  if (isProviderError(error) || error instanceof DomainError || error instanceof Error) return error.message;
  return String(error);
}
