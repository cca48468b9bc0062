/**
 * Machines as the API sees them: reads (list, get, events, logs, effective env, endpoints) and the user's
 * actions, each scoped to a project. Every action is carried out by the lifecycle (lifecycle.ts), the only
 * code that changes a machine's state; this service checks that the machine belongs to the project first.
 */
import { portsResponseSchema } from "@os2/protocol";
import { and, asc, desc, eq, inArray, isNull, or } from "drizzle-orm";

import { type Encryptor, MASKED_VALUE } from "../../crypto.ts";
import type { Db } from "../../db/client.ts";
import { machine, machineEvent } from "../../db/schema/machine.ts";
import { organization } from "../../db/schema/organization.ts";
import { project } from "../../db/schema/project.ts";
import { projectEnvVar } from "../../db/schema/project-env-var.ts";
import type { Logger } from "../../logger.ts";
import { getProvider, type ProviderRegistry } from "../../providers/registry.ts";
import { DAEMON_PORT, MACHINE_TYPES, type MachineType } from "../../providers/types.ts";
import { SYSTEM_ENV_KEYS } from "../env-vars.ts";
import { DomainError, notFound } from "../errors.ts";
import { type DaemonEndpoint, MachineEndpoints, withFreshEndpoint } from "./endpoints.ts";
import { type MachineAction, MachineLifecycle, type MachineLifecycleHooks } from "./lifecycle.ts";
import { LIMIT_COLUMNS } from "./limit-columns.ts";
import {
  type EffectiveLimits,
  effectiveLimits,
  type InstallationLimits,
  type LimitsRequest,
  resolveLimits,
} from "./limits.ts";
import type { MachineListCache } from "./list-cache.ts";
import {
  encodeMachineCursor,
  type MachineCounts,
  type MachineCursor,
  MachineList,
  type MachineListPage,
} from "./machine-list.ts";
import { errorMessage, type Machine, type PublicMachine, toPublicMachine } from "./machine-row.ts";
import type { OrganizationChanges } from "./organization-changes.ts";
import { UsageHub, type UsageTarget } from "./usage-hub.ts";
import type { WarmPool, WarmPoolMemberView } from "./warm-pool.ts";

export type { MachineLifecycleHooks } from "./lifecycle.ts";
export { errorMessage, type Machine, type PublicMachine, toPublicMachine } from "./machine-row.ts";
export { MACHINE_TYPES, type MachineType };

/** One message of a followed container log (see MachineService.followContainerLogs). */
export type ContainerLogEvent = { kind: "reset" | "append" | "ended"; lines: string[] };
const FOLLOW_FIRST_BATCH_WAIT_MS = 300;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/**
 * A waiting read (waitForState) reads again at least this often, even with no change announced: a change
 * made underneath os2, or announced while the NOTIFY connection was down, is seen within this.
 */
const WAIT_RECHECK_MS = 1_000;

export type MachineServiceOptions = {
  db: Db;
  encryptor: Encryptor;
  providers: ProviderRegistry;
  stage: string;
  log: Logger;
  publish(organizationId: string, keys: string[]): void;
  hooks?: MachineLifecycleHooks;
  healthTimeoutMs?: number;
  limits: InstallationLimits;
  installationId: string;
  orphanGraceMs: number;
  stuckAfterMs: number;
  /** The warm pool creates claim from (warm-pool.ts); none: every machine boots cold. */
  pool?: WarmPool | undefined;
  /** Pages of machine lists kept for a moment (list-cache.ts), forgotten on every realtime invalidation. */
  listCache?: MachineListCache | undefined;
  /** Told of every realtime invalidation (organization-changes.ts); waiting reads wake on it. */
  changes: OrganizationChanges;
};

export class MachineService {
  /** Moves machines between states; the reconciler reports what it observes here. */
  readonly lifecycle: MachineLifecycle;
  private readonly endpoints: MachineEndpoints;
  /** One usage stream per watched machine, shared by everyone watching it (see usage-hub.ts). */
  readonly usageHub: UsageHub;
  /** Pages, views and counts of a project's machines (machine-list.ts). */
  private readonly machineList: MachineList;

  constructor(private readonly options: MachineServiceOptions) {
    this.endpoints = new MachineEndpoints({ providers: options.providers, encryptor: options.encryptor });
    this.usageHub = new UsageHub({ providers: options.providers, log: options.log });
    this.machineList = new MachineList(options.db, (error) =>
      options.log.warn("refreshing the machine table's statistics failed", { error: errorMessage(error) }),
    );
    this.lifecycle = new MachineLifecycle({
      db: options.db,
      encryptor: options.encryptor,
      providers: options.providers,
      endpoints: this.endpoints,
      stage: options.stage,
      log: options.log,
      publish: options.publish,
      hooks: options.hooks,
      healthTimeoutMs: options.healthTimeoutMs,
      installationId: options.installationId,
      orphanGraceMs: options.orphanGraceMs,
      stuckAfterMs: options.stuckAfterMs,
      defaultLimits: options.limits.defaults,
      defaultProfile: options.limits.profile,
      pool: options.pool,
    });
  }

  /** The warm pool's sizes and members, with their age (the admin page). */
  async warmPool(): Promise<{
    size: number;
    projectMax: number;
    reservedMax: number;
    members: WarmPoolMemberView[];
  }> {
    const pool = this.options.pool;
    if (!pool) return { size: 0, projectMax: 0, reservedMax: 0, members: [] };
    const size = pool.enabled ? pool.size : 0;
    return { size, projectMax: pool.projectMax, reservedMax: pool.reservedMax, members: await pool.list() };
  }

  /** How many warm machines this project keeps for itself: asked for, allotted, booted (its settings page). */
  async projectWarmPool(projectId: string) {
    const pool = this.options.pool;
    if (!pool) return { size: 0, allotted: 0, ready: 0, booting: 0, max: 0, reservedMax: 0 };
    return pool.projectView(projectId);
  }

  /**
   * Sets how many warm machines the project keeps for itself (0: none); at most the installation's
   * OS2_WARM_POOL_PROJECT_MAX. The reconciler's leader boots or drains them in the background.
   */
  async setProjectWarmPoolSize(projectId: string, size: number) {
    const pool = this.options.pool;
    const max = pool?.projectMax ?? 0;
    if (size > 0 && max === 0) {
      throw new DomainError(
        "precondition_failed",
        "size: this installation keeps no warm machines for single projects (OS2_WARM_POOL_PROJECT_MAX is 0, or local Docker is not configured). Set it to 0.",
      );
    }
    if (size > max) {
      throw new DomainError(
        "bad_request",
        `size: at most ${max} warm machine${max === 1 ? "" : "s"} per project on this installation (OS2_WARM_POOL_PROJECT_MAX); asked for ${size}.`,
      );
    }
    await this.options.db.update(project).set({ warmPoolSize: size }).where(eq(project.id, projectId));
    pool?.kick();
    return this.projectWarmPool(projectId);
  }

  async availability() {
    return Promise.all(
      MACHINE_TYPES.map(async (type) => {
        const result = await getProvider(this.options.providers, type)
          .availability(AbortSignal.timeout(3_000))
          .catch((error: unknown) => ({ available: false as const, reason: errorMessage(error) }));
        return { type, ...result };
      }),
    );
  }

  /**
   * A page of the project's machines for list views, newest first (machine-list.ts). It may come from the
   * list cache, keyed by the organization so its invalidations reach it: then it is the same object for every
   * caller within its moment, and must not be changed.
   */
  listPage(
    organizationId: string,
    projectId: string,
    options: { includeArchived?: boolean; limit?: number; cursor?: MachineCursor | undefined } = {},
  ): Promise<MachineListPage> {
    const cache = this.options.listCache;
    if (!cache) return this.machineList.page(projectId, options);
    const key = [
      projectId,
      options.includeArchived ? "archived" : "",
      options.limit ?? "",
      options.cursor ? encodeMachineCursor(options.cursor) : "",
    ].join(" ");
    return cache.get(organizationId, key, () => this.machineList.page(projectId, options));
  }

  /** How many machines the project has: active (not archived), running, archived. */
  counts(projectId: string): Promise<MachineCounts> {
    return this.machineList.counts(projectId);
  }

  /** One machine as the API shows it: no credential, and whether it waits for a restart to apply its env. */
  async view(projectId: string, machineId: string): Promise<PublicMachine & { envPendingRestart: boolean }> {
    const found = await this.machineList.view(projectId, machineId);
    if (!found) throw notFound("Machine");
    return found;
  }

  /**
   * Of these machines, the ones in the project (archived included), with what a usage stream needs: its
   * membership check, re-run while it streams, reads those few rows and columns only.
   */
  usageTargets(projectId: string, machineIds: string[]): Promise<UsageTarget[]> {
    if (machineIds.length === 0) return Promise.resolve([]);
    return this.options.db
      .select({
        id: machine.id,
        type: machine.type,
        externalId: machine.externalId,
        cpuMillis: machine.cpuMillis,
        memoryMb: machine.memoryMb,
        pids: machine.pids,
        diskMb: machine.diskMb,
      })
      .from(machine)
      .where(and(eq(machine.projectId, projectId), inArray(machine.id, machineIds)));
  }

  /** A machine of the project by its id or, failing that, its name (names are unique per project). */
  async findByRef(projectId: string, ref: string): Promise<Machine> {
    const [row] = await this.options.db
      .select()
      .from(machine)
      .where(and(eq(machine.projectId, projectId), or(eq(machine.id, ref), eq(machine.name, ref))))
      .orderBy(desc(eq(machine.id, ref)))
      .limit(1);
    if (!row) throw new DomainError("not_found", `No machine with the id or name "${ref}" in this project.`);
    return row;
  }

  /**
   * Returns once the machine's observed state is one of `states` or `error` (a wait for `running` ends
   * when the boot failed), or after `waitMs`, or when `signal` aborts, whichever is first; the caller then
   * reads the machine as it is. Wakes at every change announced for the organization (this instance's or
   * another's) and reads again; throws not_found when the machine is gone.
   */
  async waitForState(input: {
    projectId: string;
    organizationId: string;
    machineId: string;
    states: readonly string[];
    waitMs: number;
    signal?: AbortSignal | undefined;
  }): Promise<void> {
    const deadline = Date.now() + input.waitMs;
    const aborted = () => input.signal?.aborted ?? false;
    for (;;) {
      const left = deadline - Date.now();
      // Taken before the read: a change between the read and the wait still wakes it.
      const next = this.options.changes.next(input.organizationId, Math.min(WAIT_RECHECK_MS, left));
      const onAbort = () => next.cancel();
      input.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        const row = await this.get(input.projectId, input.machineId);
        const reached = input.states.includes(row.observedState) || row.observedState === "error";
        if (reached || left <= 0 || aborted()) return;
        await next.changed;
      } finally {
        next.cancel();
        input.signal?.removeEventListener("abort", onAbort);
      }
      if (aborted()) return;
    }
  }

  async get(projectId: string, machineId: string): Promise<Machine> {
    const [row] = await this.options.db
      .select()
      .from(machine)
      .where(and(eq(machine.id, machineId), eq(machine.projectId, projectId)));
    if (!row) throw notFound("Machine");
    return row;
  }

  async create(input: {
    projectId: string;
    name: string;
    type: MachineType;
    userId: string | null;
    limits?: LimitsRequest;
  }) {
    const effective = await this.effectiveLimits(input.projectId);
    const limits = resolveLimits(effective, input.limits);
    return toPublicMachine(
      await this.lifecycle.create({
        ...input,
        limits,
        profile: this.options.limits.profile,
        maxRunning: effective.maxRunningMachines,
      }),
    );
  }

  /**
   * What a new machine of this project gets and may ask for, and, per machine type, which limits the
   * provider applies (Daytona takes its resources from the snapshot; disk quotas need a storage driver
   * that has them).
   */
  async limits(projectId: string) {
    const effective = await this.effectiveLimits(projectId);
    const support = await Promise.all(
      MACHINE_TYPES.map(async (type) => {
        const provider = getProvider(this.options.providers, type);
        const found = await provider
          .limitsSupport?.(AbortSignal.timeout(3_000))
          .catch((error: unknown) => ({ perMachine: false, diskQuota: false, notes: [errorMessage(error)] }));
        return { type, ...(found ?? { perMachine: false, diskQuota: false, notes: [] }) };
      }),
    );
    return { ...effective, profile: this.options.limits.profile, support };
  }

  /** Sets (or, with null, clears) the project's defaults for new machines, each within the maximum. */
  async setProjectDefaults(
    projectId: string,
    defaults: { cpuMillis: number | null; memoryMb: number | null; pids: number | null },
  ) {
    const effective = await this.effectiveLimits(projectId);
    resolveLimits(effective, {
      ...(defaults.cpuMillis === null ? {} : { cpuMillis: defaults.cpuMillis }),
      ...(defaults.memoryMb === null ? {} : { memoryMb: defaults.memoryMb }),
      ...(defaults.pids === null ? {} : { pids: defaults.pids }),
    });
    await this.options.db
      .update(project)
      .set({ machineCpuMillis: defaults.cpuMillis, machineMemoryMb: defaults.memoryMb, machinePids: defaults.pids })
      .where(eq(project.id, projectId));
    return this.limits(projectId);
  }

  private async effectiveLimits(projectId: string): Promise<EffectiveLimits> {
    const [row] = await this.options.db
      .select({
        ...LIMIT_COLUMNS,
      })
      .from(project)
      .innerJoin(organization, eq(organization.id, project.organizationId))
      .where(eq(project.id, projectId));
    if (!row) throw notFound("Project");
    return effectiveLimits(this.options.limits, row, row);
  }

  start = (projectId: string, machineId: string) => this.act(projectId, machineId, "start");
  stop = (projectId: string, machineId: string) => this.act(projectId, machineId, "stop");
  restart = (projectId: string, machineId: string) => this.act(projectId, machineId, "restart");
  archive = (projectId: string, machineId: string) => this.act(projectId, machineId, "archive");
  /** Restore from the archive: the machine starts again. */
  unarchive = (projectId: string, machineId: string) => this.act(projectId, machineId, "unarchive");
  /** For a machine whose container vanished: make a new one with the same id, name and env. */
  recreate = (projectId: string, machineId: string) => this.act(projectId, machineId, "recreate");

  /** `force`: forget it even if the provider cannot delete it now (what is left is removed later). */
  async delete(projectId: string, machineId: string, options: { force?: boolean } = {}) {
    await this.get(projectId, machineId);
    if (options.force) await this.lifecycle.forceDelete(machineId);
    else await this.lifecycle.request(machineId, "delete");
    return { id: machineId };
  }

  /** Every machine of these projects, archived ones included: what deleting them would destroy. */
  async listInProjects(projectIds: string[]) {
    if (projectIds.length === 0) return [];
    const rows = await this.options.db
      .select({ id: machine.id, name: machine.name, projectId: machine.projectId, state: machine.observedState })
      .from(machine)
      .where(inArray(machine.projectId, projectIds))
      .orderBy(asc(machine.name));
    return rows;
  }

  /**
   * Deletes every machine of these projects, before the projects themselves are deleted. A machine that
   * fails to delete here loses its row with the project anyway; its container is then an orphan with
   * os2's labels, which the reconciler removes on its next pass.
   */
  async deleteAllInProjects(projectIds: string[]) {
    if (projectIds.length === 0) return;
    const rows = await this.options.db
      .select({ id: machine.id })
      .from(machine)
      .where(inArray(machine.projectId, projectIds));
    await Promise.all(
      rows.map((row) =>
        this.lifecycle.request(row.id, "delete").catch((error: unknown) => {
          this.options.log.warn("deleting a machine with its project failed; the reconciler will remove it", {
            machineId: row.id,
            error: errorMessage(error),
          });
        }),
      ),
    );
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

  /** The last `tail` lines of the container's output; null when this machine's provider keeps none. */
  async containerLogs(projectId: string, machineId: string, tail: number): Promise<string | null> {
    const row = await this.get(projectId, machineId);
    const provider = getProvider(this.options.providers, row.type);
    if (!provider.logs) return null;
    if (!row.externalId) return "";
    return provider.logs(row.externalId, { tail }, AbortSignal.timeout(10_000));
  }

  /**
   * The container's output followed: first `reset` (the last `tail` lines, replacing whatever the reader
   * showed, so a reconnect never doubles lines), then `append` batches, then `ended` when the container
   * stopped. Pulled by the caller: nothing is read from the provider while the caller does not ask.
   */
  async *followContainerLogs(
    projectId: string,
    machineId: string,
    tail: number,
    signal: AbortSignal,
  ): AsyncGenerator<ContainerLogEvent> {
    const row = await this.get(projectId, machineId);
    const provider = getProvider(this.options.providers, row.type);
    if (!provider.followLogs) {
      throw new DomainError(
        "precondition_failed",
        `${row.type} machines have no container log stream; read the service logs, which come from inside the machine.`,
      );
    }
    if (!row.externalId) {
      yield { kind: "reset", lines: [] };
      yield { kind: "ended", lines: [] };
      return;
    }
    const batches = provider.followLogs(row.externalId, { tail }, signal)[Symbol.asyncIterator]();
    try {
      // The tail arrives in the first batch or two: wait for it briefly so the reader's view does not blink
      // empty first; a quiet or empty log resets to nothing.
      const first = batches.next();
      const early = await Promise.race([first, sleep(FOLLOW_FIRST_BATCH_WAIT_MS).then(() => null)]);
      if (early === null) yield { kind: "reset", lines: [] };
      const opened = early ?? (await first);
      if (early !== null) yield { kind: "reset", lines: opened.done ? [] : opened.value };
      else if (!opened.done) yield { kind: "append", lines: opened.value };
      if (opened.done) {
        if (!signal.aborted) yield { kind: "ended", lines: [] };
        return;
      }
      for (let next = await batches.next(); !next.done; next = await batches.next())
        yield { kind: "append", lines: next.value };
      if (!signal.aborted) yield { kind: "ended", lines: [] };
    } finally {
      await batches.return?.();
    }
  }

  /** The keys the machine boots with and where each comes from; values are never read or returned. */
  /**
   * Every variable the machine gets, with where it comes from. Values stay hidden, except os2's own that
   * are not secret (`OS2_MACHINE_ID`, `OS2_PROJECT_ID`, `OS2_STAGE`); `empty` tells an empty value from a
   * hidden one. A machine override carries its id (to remove it) and says whether it hides a project value.
   */
  async effectiveEnv(projectId: string, machineId: string) {
    const row = await this.get(projectId, machineId);
    const rows = await this.options.db
      .select({
        id: projectEnvVar.id,
        key: projectEnvVar.key,
        machineId: projectEnvVar.machineId,
        valueEncrypted: projectEnvVar.valueEncrypted,
      })
      .from(projectEnvVar)
      .where(
        and(
          eq(projectEnvVar.projectId, projectId),
          or(isNull(projectEnvVar.machineId), eq(projectEnvVar.machineId, machineId)),
        ),
      );
    type Entry = {
      key: string;
      source: "project" | "machine" | "system";
      maskedValue: string;
      value: string | null;
      empty: boolean;
      overrideId: string | null;
      overridesProject: boolean;
    };
    const byKey = new Map<string, Entry>();
    const isEmpty = (encrypted: string) => this.options.encryptor.decrypt(encrypted) === "";
    for (const env of rows.filter((r) => r.machineId === null)) {
      byKey.set(env.key, {
        key: env.key,
        source: "project",
        maskedValue: MASKED_VALUE,
        value: null,
        empty: isEmpty(env.valueEncrypted),
        overrideId: null,
        overridesProject: false,
      });
    }
    for (const env of rows.filter((r) => r.machineId === machineId)) {
      byKey.set(env.key, {
        key: env.key,
        source: "machine",
        maskedValue: MASKED_VALUE,
        value: null,
        empty: isEmpty(env.valueEncrypted),
        overrideId: env.id,
        overridesProject: byKey.has(env.key),
      });
    }
    const shown: Record<string, string> = {
      OS2_MACHINE_ID: row.id,
      OS2_PROJECT_ID: row.projectId,
      OS2_STAGE: this.options.stage,
    };
    for (const key of SYSTEM_ENV_KEYS) {
      byKey.set(key, {
        key,
        source: "system",
        maskedValue: MASKED_VALUE,
        value: shown[key] ?? null,
        empty: false,
        overrideId: null,
        overridesProject: false,
      });
    }
    return [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key));
  }

  /**
   * How to reach a port of the machine: the provider's URL and headers (the daemon port also carries the
   * daemon's credential). Pass it to `withFreshEndpoint`, which refreshes rejected credentials.
   */
  openEndpoint(row: Machine, port: number, signal?: AbortSignal): Promise<DaemonEndpoint> {
    return this.endpoints.open(row, port, signal);
  }

  /** What listens on TCP ports inside the machine, as its daemon reads it (`GET /api/ports`). */
  async listeningPorts(projectId: string, machineId: string) {
    const row = await this.get(projectId, machineId);
    if (row.observedState !== "running") return [];
    const endpoint = await this.openEndpoint(row, DAEMON_PORT, AbortSignal.timeout(5_000));
    const response = await withFreshEndpoint(endpoint, {
      perform: (current) =>
        fetch(`${current.url}/api/ports`, { headers: current.headers, signal: AbortSignal.timeout(5_000) }),
      isUnauthorized: (answer) => answer.status === 401,
      discard: (answer) => answer.body?.cancel(),
    });
    const body: unknown = response.ok ? await response.json().catch(() => null) : null;
    const parsed = portsResponseSchema.safeParse(body);
    if (!parsed.success) {
      throw new DomainError(
        "precondition_failed",
        `The machine's daemon did not list its ports (HTTP ${response.status}).`,
      );
    }
    return parsed.data.ports;
  }

  /** The machine stopped answering: the next request asks the provider again. */
  forgetEndpoints(machineId: string) {
    this.endpoints.forget(machineId);
  }

  settle(): Promise<void> {
    return this.lifecycle.settle();
  }

  close() {
    this.lifecycle.close();
    this.usageHub.close();
  }

  private async act(projectId: string, machineId: string, action: MachineAction): Promise<PublicMachine> {
    await this.get(projectId, machineId);
    const { maxRunningMachines } = await this.effectiveLimits(projectId);
    await this.lifecycle.request(machineId, action, { maxRunning: maxRunningMachines });
    return toPublicMachine(await this.get(projectId, machineId));
  }
}
