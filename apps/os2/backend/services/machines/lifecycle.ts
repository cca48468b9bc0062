/**
 * The one owner of a machine's lifecycle. Every change of a machine's desired or observed state (and so
 * every machine event) is made here, whether a user asked for it or the reconciler observed something:
 *
 * - `create(input)`: a new machine, from its row to a booting container;
 * - `request(machineId, action)`: what a user asked for (start, stop, restart, archive, unarchive, delete,
 *   recreate);
 * - `observe(machineId, observation)`: what the reconciler saw at the provider; this module decides what
 *   to do about it (mark, restart, stop, finish an interrupted create or delete);
 * - `removeOrphan(type, listed)`: a container or sandbox with os2's labels and no row.
 *
 * Work on one machine is serialised by a private per-machine mutex, so a user action and the reconciler
 * never drive the same machine at once.
 *
 * Ordering makes crashes safe: the row is written before the provider creates anything (so a container
 * never exists without a row), and the row is deleted only after the provider deleted the container. The
 * reconciler observes whatever a crash interrupted, and `observe` finishes it.
 */
import type { OomReport } from "@os2/protocol";
import { and, count, desc, eq, isNull, lt, ne, or, sql } from "drizzle-orm";

import { type Encryptor, randomToken } from "../../crypto.ts";
import type { Db, Queryable } from "../../db/client.ts";
import {
  machine,
  type MachineDesiredState,
  machineEvent,
  type MachineEventReason,
  type MachineObservedState,
} from "../../db/schema/machine.ts";
import { project } from "../../db/schema/project.ts";
import { newId } from "../../ids.ts";
import type { Logger } from "../../logger.ts";
import { getProvider, type ProviderRegistry } from "../../providers/registry.ts";
import {
  DAEMON_PORT,
  type IsolationProfile,
  type ListedMachine,
  type MachineLabels,
  type MachineLimits,
  type MachineType,
  type ProviderMachineState,
} from "../../providers/types.ts";
import { DomainError, notFound } from "../errors.ts";
import { checkHealth, waitForHealth } from "./daemon-health.ts";
import { type MachineEndpoints, withFreshEndpoint } from "./endpoints.ts";
import { KeyedMutex } from "./keyed-mutex.ts";
import { buildMachineEnv, systemEnv } from "./machine-env.ts";
import { errorMessage, type Machine, type PublicMachine, toPublicMachine } from "./machine-row.ts";
import type { WarmPool, WarmPoolMember } from "./warm-pool.ts";

const NO_CONTAINER_MESSAGE = "This machine has no container: recreate it or delete it.";
export const CONTAINER_REMOVED_MESSAGE = "The container was removed outside os2. Recreate the machine or delete it.";

/** How long the daemon has to take the machine's environment at start. */
const ENV_APPLY_TIMEOUT_MS = 10_000;

export type MachineAction = "start" | "stop" | "restart" | "archive" | "unarchive" | "delete" | "recreate";

export type CreateInput = {
  projectId: string;
  name: string;
  type: MachineType;
  userId: string | null;
  limits: MachineLimits;
  profile: IsolationProfile;
  /** The organization's limit of machines that want to run; creating past it is refused. */
  maxRunning: number;
};

/** What the reconciler saw of one machine at its provider. */
export type Observation =
  /** The provider answered; `missing` when it holds nothing for this machine. */
  | { kind: "listed"; state: ProviderMachineState }
  /** The provider could not be asked (unconfigured, unreachable): never read as "gone". */
  | { kind: "unreachable"; reason: string };

/** Where a later feature (analytics) hooks into the lifecycle: `machine_ready` and `machine_failed`. */
export type MachineLifecycleHooks = {
  onReady(event: { machine: PublicMachine; organizationId: string; timeToReadyMs: number }): void;
  onFailed(event: { machine: PublicMachine; organizationId: string; reason: string }): void;
};

export type MachineLifecycleOptions = {
  db: Db;
  encryptor: Encryptor;
  providers: ProviderRegistry;
  endpoints: MachineEndpoints;
  stage: string;
  /** This database's installation id (db/schema/installation.ts): only its own machines are adopted or removed. */
  installationId: string;
  /** How old an own-installation container without a row must be before it is removed as an orphan. */
  orphanGraceMs: number;
  /** How long a machine may stay creating/starting/stopping/deleting while the reconciler fails to finish it. */
  stuckAfterMs: number;
  log: Logger;
  publish(organizationId: string, keys: string[]): void;
  hooks?: MachineLifecycleHooks | undefined;
  healthTimeoutMs?: number | undefined;
  /** For rows made before machines recorded their own limits and profile. */
  defaultLimits: MachineLimits;
  defaultProfile: IsolationProfile;
  /** Local machines booted ahead of demand; a create claims one when it can (warm-pool.ts). */
  pool?: WarmPool | undefined;
};

function limitsOf(row: Machine, fallback: MachineLimits): MachineLimits {
  return {
    cpuMillis: row.cpuMillis ?? fallback.cpuMillis,
    memoryMb: row.memoryMb ?? fallback.memoryMb,
    pids: row.pids ?? fallback.pids,
    diskMb: row.diskMb ?? fallback.diskMb,
  };
}

function eventValues(
  machineId: string,
  fromState: MachineObservedState | null,
  toState: MachineObservedState,
  reason: MachineEventReason,
  detail?: string,
  durationMs?: number,
) {
  return {
    id: newId("machineEvent"),
    machineId,
    fromState,
    toState,
    reason,
    detail: detail ?? null,
    durationMs: durationMs ?? null,
  };
}

const INVALIDATES = ["machine"];
/** First key of the organization locks (two-key advisory locks; db/client.ts's leader lock uses 7283461). */
const ORGANIZATION_LOCK_CLASS = 7283462;
const TRANSITIONAL = new Set<MachineObservedState>(["creating", "starting", "stopping", "deleting"]);
/** A machine lease lasts this long unless renewed (every LEASE_RENEW_MS while the work runs). */
const LEASE_MS = 60_000;
const LEASE_RENEW_MS = 20_000;
const LEASE_WAIT_MS = 60_000;
const LEASE_POLL_MS = 100;
const LEASE_HELD_ELSEWHERE = Symbol("lease held by another instance");
const PROVIDER_TIMEOUT_MS = 60_000;
const CREATE_TIMEOUT_MS = 120_000;

export class MachineLifecycle {
  private readonly mutex = new KeyedMutex();
  /** This process, as the holder of machine leases. */
  private readonly instanceId = `${process.pid}-${randomToken(6)}`;
  /** Held while counting an organization's running machines and claiming one more. */
  private readonly organizationMutex = new KeyedMutex();
  private readonly organizationByProject = new Map<string, string>();
  /** One boot watcher per machine; aborted when the machine should no longer run, or on close. */
  private readonly watchers = new Map<string, AbortController>();
  private readonly background = new Set<Promise<unknown>>();
  private closed = false;

  constructor(private readonly options: MachineLifecycleOptions) {}

  get stage() {
    return this.options.stage;
  }

  get installationId() {
    return this.options.installationId;
  }

  /** Labels put on every container or sandbox; the reconciler selects by them. */
  labelsFor(row: Pick<Machine, "id" | "projectId">): MachineLabels {
    return {
      "os2.managed": "true",
      "os2.installation": this.options.installationId,
      "os2.machine-id": row.id,
      "os2.project-id": row.projectId,
      "os2.stage": this.options.stage,
    };
  }

  /** Whether a user action or an observation is working on this machine right now. */
  isBusy(machineId: string): boolean {
    return this.mutex.isBusy(machineId);
  }

  async create(input: CreateInput): Promise<Machine> {
    const provider = getProvider(this.options.providers, input.type);
    const availability = await provider.availability(AbortSignal.timeout(5_000));
    if (!availability.available) {
      throw new DomainError(availability.unreachable ? "unavailable" : "precondition_failed", availability.reason);
    }

    const id = newId("machine");
    const organizationId = await this.organizationOf(input.projectId);
    if (!organizationId) throw notFound("Project");
    // A warm-pool member is taken (marked for this machine, nothing handed over yet) while the row is
    // written; if the row cannot be written, the member goes back to the pool untouched.
    const pool = this.options.pool?.enabled && input.type === this.options.pool.type ? this.options.pool : null;
    const taking = pool ? this.takeFromPool(pool, id, input) : Promise.resolve(null);
    const createdAt = new Date();
    let row: Machine | undefined;
    try {
      // Counting and inserting under one lock, so concurrent creates cannot both take the last slot. The
      // row starts out leased to this instance (the work on it follows at once) with its first event.
      row = await this.underOrganizationLock(organizationId, async (tx) => {
        await this.assertRunningQuota(tx, organizationId, input.maxRunning, null);
        const [inserted] = await tx
          .insert(machine)
          .values({
            id,
            projectId: input.projectId,
            name: input.name,
            type: input.type,
            desiredState: "running",
            observedState: "creating",
            authTokenEncrypted: this.options.encryptor.encrypt(randomToken(32)),
            createdBy: input.userId,
            startRequestedAt: createdAt,
            cpuMillis: input.limits.cpuMillis,
            memoryMb: input.limits.memoryMb,
            pids: input.limits.pids,
            diskMb: input.limits.diskMb,
            profile: input.profile,
            leaseOwner: this.instanceId,
            leaseExpiresAt: new Date(createdAt.getTime() + LEASE_MS),
          })
          .returning();
        await tx.insert(machineEvent).values(eventValues(id, null, "creating", "user"));
        return inserted;
      });
      if (!row) throw new Error("machine insert returned no row");
    } catch (error) {
      const member = await taking;
      if (member && pool) await pool.putBack(member, id);
      throw error;
    }
    this.options.publish(organizationId, INVALIDATES);
    const created = row;

    const member = await taking;
    if (member && pool) {
      const claimed = await this.exclusive(id, () => this.claimFromPool(pool, created, member, organizationId), {
        wait: true,
        leased: true,
      });
      if (claimed) return claimed;
    }
    // Still leased unless a failed claim's work released the lease on its way out.
    const leased = !(member && pool);
    try {
      await this.exclusive(id, () => this.provision(created), { wait: true, leased });
    } catch (error) {
      // Nothing usable came of it: remove what was made so no container and no row are left behind.
      await this.exclusive(id, () => this.destroy(created)).catch((cleanupError: unknown) => {
        this.options.log.error("cleanup after a failed create failed; the reconciler will retry", {
          machineId: id,
          error: String(cleanupError),
        });
      });
      this.notifyFailed(created, errorMessage(error));
      throw error;
    }
    this.watchUntilReady(id);
    return (await this.reload(id)) ?? created;
  }

  /**
   * Carries out what a user asked for. The caller has already checked that the machine is theirs, and
   * passes the organization's limit of running machines for actions that make one run.
   */
  async request(machineId: string, action: MachineAction, quota: { maxRunning: number } | null = null): Promise<void> {
    const row = await this.reload(machineId);
    if (!row) throw notFound("Machine");
    // A machine on its way out can only be deleted again (or force deleted).
    if (row.desiredState === "deleted" && action !== "delete") {
      throw new DomainError(
        "precondition_failed",
        "This machine is being deleted: delete it again, or force delete it.",
      );
    }
    if (action === "unarchive" && row.desiredState !== "archived") {
      throw new DomainError("precondition_failed", "The machine is not archived.");
    }
    if ((action === "start" || action === "unarchive") && row.observedState === "error" && !row.externalId) {
      throw new DomainError("precondition_failed", NO_CONTAINER_MESSAGE);
    }
    const makesItRun = action === "start" || action === "unarchive" || action === "recreate";
    if (quota && makesItRun && row.desiredState !== "running") await this.claimRunningSlot(row, quota.maxRunning);
    switch (action) {
      case "start":
        return this.start(row);
      case "unarchive":
        return this.start(row);
      case "stop":
        return this.halt(machineId, "stopped");
      case "archive":
        return this.halt(machineId, "archived");
      case "restart":
        await this.halt(machineId, "stopped");
        return this.start((await this.reload(machineId)) ?? row);
      case "delete":
        return this.exclusive(machineId, async () => {
          await this.setDesired(machineId, "deleted");
          await this.transition(machineId, "deleting", "user");
          const current = await this.reload(machineId);
          if (current) await this.destroy(current);
        });
      case "recreate":
        return this.recreate(machineId);
    }
  }

  /**
   * Moves a machine toward its desired state given what the provider holds. Returns false when the machine
   * was busy with other work and nothing was observed (the next pass looks again).
   */
  async observe(machineId: string, observation: Observation): Promise<boolean> {
    if (this.mutex.isBusy(machineId)) return false;
    // Another instance working on it (its lease is live): the next pass looks again.
    return this.exclusive(
      machineId,
      () =>
        this.reconcile(machineId, observation).catch(async (error: unknown) => {
          await this.failIfStuck(machineId, errorMessage(error));
          throw error;
        }),
      { wait: false },
    ).then((outcome) => outcome !== LEASE_HELD_ELSEWHERE);
  }

  /**
   * A machine never stays creating, starting, stopping or deleting for long: when the reconciler still
   * cannot finish it after OS2_STUCK_AFTER_MS, it moves to `error` with what keeps failing and what the user
   * can do (retry, recreate, or force delete).
   */
  private async failIfStuck(machineId: string, failure: string): Promise<void> {
    const row = await this.reload(machineId);
    if (!row || !TRANSITIONAL.has(row.observedState)) return;
    const [last] = await this.options.db
      .select({ at: machineEvent.createdAt })
      .from(machineEvent)
      .where(eq(machineEvent.machineId, machineId))
      .orderBy(desc(machineEvent.createdAt))
      .limit(1);
    const since = last?.at.getTime() ?? row.createdAt.getTime();
    if (Date.now() - since < this.options.stuckAfterMs) return;
    const minutes = Math.max(1, Math.round((Date.now() - since) / 60_000));
    const next =
      row.observedState === "deleting"
        ? "Delete it again, or force delete it (os2 then forgets it and removes what is left later)."
        : "Start it again, recreate it, or delete it.";
    await this.transition(
      machineId,
      "error",
      "reconciler",
      `Stuck ${row.observedState} for ${minutes} min: ${failure}. ${next}`,
    );
  }

  /**
   * Forgets a machine whose provider cannot delete it (a stuck `deleting`): the row goes now, and whatever
   * the provider still holds carries this installation's labels, so the reconciler removes it later.
   */
  async forceDelete(machineId: string): Promise<void> {
    await this.mutex.run(machineId, async () => {
      const row = await this.reload(machineId);
      if (!row) return;
      this.watchers.get(machineId)?.abort();
      await getProvider(this.options.providers, row.type)
        .delete(row.externalId ?? "", this.timeout())
        .catch((error: unknown) =>
          this.options.log.warn("force delete: the provider could not delete it; the reconciler will", {
            machineId,
            error: errorMessage(error),
          }),
        );
      this.options.endpoints.forget(machineId);
      await this.options.db.delete(machine).where(eq(machine.id, machineId));
      const organizationId = await this.organizationOf(row.projectId);
      if (organizationId) this.options.publish(organizationId, INVALIDATES);
    });
  }

  /**
   * Removes a container or sandbox that this installation created (its labels say so) but that has no row,
   * once it is older than the grace period: a create in flight, or a row another instance of this
   * installation is about to write, is never mistaken for one. Anything of another installation, without
   * os2's labels, or whose machine is being worked on or still has a row, is left alone.
   */
  async removeOrphan(type: MachineType, listed: ListedMachine, now = Date.now()): Promise<boolean> {
    const machineId = listed.labels["os2.machine-id"];
    if (listed.labels["os2.managed"] !== "true" || listed.labels["os2.installation"] !== this.options.installationId) {
      return false;
    }
    if (machineId && (this.mutex.isBusy(machineId) || (await this.reload(machineId)))) return false;
    const age = listed.createdAt ? now - listed.createdAt.getTime() : Number.POSITIVE_INFINITY;
    if (age < this.options.orphanGraceMs) {
      this.options.log.info("a machine of this installation has no row yet; removing it if it still has none later", {
        type,
        externalId: listed.externalId,
        machineId,
        ageMs: Math.round(age),
        graceMs: this.options.orphanGraceMs,
      });
      return false;
    }
    await getProvider(this.options.providers, type).delete(listed.externalId, AbortSignal.timeout(PROVIDER_TIMEOUT_MS));
    this.options.log.warn("removed a machine of this installation that has no row in its database", {
      type,
      externalId: listed.externalId,
      machineId,
      ageMs: Number.isFinite(age) ? Math.round(age) : null,
    });
    return true;
  }

  /**
   * Claims one of the organization's running slots for this machine: under the organization's lock, the
   * count is checked and the machine's intent set to `running`, so concurrent starts cannot both get the last.
   */
  private async claimRunningSlot(row: Machine, maxRunning: number): Promise<void> {
    const organizationId = await this.organizationOf(row.projectId);
    if (!organizationId) throw notFound("Machine");
    await this.underOrganizationLock(organizationId, async (tx) => {
      await this.assertRunningQuota(tx, organizationId, maxRunning, row.id);
      await tx.update(machine).set({ desiredState: "running" }).where(eq(machine.id, row.id));
    });
  }

  /**
   * Runs `work` alone for this organization: in this process (the mutex, so callers queue here rather than
   * each holding a database connection) and across every instance on the database (a transaction-scoped
   * advisory lock keyed by the organization), so quotas hold however many instances there are.
   */
  private underOrganizationLock<T>(organizationId: string, work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.organizationMutex.run(organizationId, () =>
      this.options.db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${ORGANIZATION_LOCK_CLASS}, hashtext(${organizationId}))`);
        return work(tx);
      }),
    );
  }

  /** Machines this organization wants running (pool members, which belong to no project, never count). */
  private async assertRunningQuota(
    tx: Queryable,
    organizationId: string,
    maxRunning: number,
    excluding: string | null,
  ) {
    const [row] = await tx
      .select({ running: count() })
      .from(machine)
      .innerJoin(project, eq(project.id, machine.projectId))
      .where(
        and(
          eq(project.organizationId, organizationId),
          eq(machine.desiredState, "running"),
          excluding ? ne(machine.id, excluding) : undefined,
        ),
      );
    const running = row?.running ?? 0;
    if (running >= maxRunning) {
      throw new DomainError(
        "quota_exceeded",
        `This organization already runs ${running} machine${running === 1 ? "" : "s"}, its limit ` +
          `(OS2_MAX_RUNNING_MACHINES_PER_ORG, or the organization's own): stop or archive one first.`,
      );
    }
  }

  /**
   * Runs work on one machine alone: within this process (the mutex) and across every os2 instance on this
   * database (a lease on the machine's row, renewed while the work lasts). With `wait: false` it gives up
   * at once when another instance holds the lease (the reconciler looks again on its next pass).
   */
  private exclusive<T>(
    machineId: string,
    work: () => Promise<T>,
    options: { wait: false },
  ): Promise<T | typeof LEASE_HELD_ELSEWHERE>;
  private exclusive<T>(
    machineId: string,
    work: () => Promise<T>,
    options?: { wait: true; leased?: boolean },
  ): Promise<T>;
  private exclusive<T>(
    machineId: string,
    work: () => Promise<T>,
    options: { wait: boolean; leased?: boolean } = { wait: true },
  ) {
    return this.mutex.run(machineId, async () => {
      const deadline = Date.now() + LEASE_WAIT_MS;
      // `leased`: the row was inserted holding this instance's lease (create), so there is nothing to take.
      while (!options.leased && !(await this.takeLease(machineId))) {
        if (!options.wait) return LEASE_HELD_ELSEWHERE;
        if (Date.now() > deadline) {
          throw new DomainError(
            "precondition_failed",
            "Another os2 instance is working on this machine; try again shortly.",
          );
        }
        await new Promise((resolve) => setTimeout(resolve, LEASE_POLL_MS));
      }
      const renew = setInterval(() => {
        this.takeLease(machineId).catch((error: unknown) =>
          this.options.log.warn("renewing a machine lease failed", { machineId, error: errorMessage(error) }),
        );
      }, LEASE_RENEW_MS);
      renew.unref();
      try {
        return await work();
      } finally {
        clearInterval(renew);
        await this.options.db
          .update(machine)
          .set({ leaseOwner: null, leaseExpiresAt: null })
          .where(and(eq(machine.id, machineId), eq(machine.leaseOwner, this.instanceId)))
          .catch((error: unknown) =>
            this.options.log.warn("releasing a machine lease failed; it lapses by itself", {
              machineId,
              error: errorMessage(error),
            }),
          );
      }
    });
  }

  /** Takes (or renews) this instance's lease on a machine's row; false when another instance holds a live one. */
  private async takeLease(machineId: string): Promise<boolean> {
    const now = new Date();
    const taken = await this.options.db
      .update(machine)
      .set({ leaseOwner: this.instanceId, leaseExpiresAt: new Date(now.getTime() + LEASE_MS) })
      .where(
        and(
          eq(machine.id, machineId),
          or(isNull(machine.leaseExpiresAt), lt(machine.leaseExpiresAt, now), eq(machine.leaseOwner, this.instanceId)),
        ),
      )
      .returning({ id: machine.id });
    // A machine whose row is gone (deleted) has nothing to lease: the work finds that out itself.
    if (taken.length > 0) return true;
    return (await this.reload(machineId)) === null;
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

  private async start(row: Machine): Promise<void> {
    if (row.observedState === "error" && !row.externalId) {
      throw new DomainError("precondition_failed", NO_CONTAINER_MESSAGE);
    }
    await this.exclusive(row.id, async () => {
      await this.setDesired(row.id, "running", { startRequestedAt: new Date() });
      const current = await this.reload(row.id);
      if (!current) throw notFound("Machine");
      if (!current.externalId) return this.provision(current);
      await getProvider(this.options.providers, current.type).start(current.externalId, this.timeout());
      await this.transition(row.id, "starting", "user");
    });
    this.watchUntilReady(row.id);
  }

  /** Stop or archive: the container stops (and is archived), and the machine is recorded as such. */
  private async halt(machineId: string, target: "stopped" | "archived"): Promise<void> {
    await this.exclusive(machineId, async () => {
      await this.setDesired(machineId, target);
      const current = await this.reload(machineId);
      if (current?.externalId) {
        await this.transition(machineId, "stopping", "user");
        const provider = getProvider(this.options.providers, current.type);
        if (target === "archived") await provider.archive(current.externalId, this.timeout());
        else await provider.stop(current.externalId, this.timeout());
      }
      await this.transition(machineId, target, "provider");
    });
  }

  /** For a machine whose container vanished: a new one with the same id, name and env. */
  private async recreate(machineId: string): Promise<void> {
    await this.exclusive(machineId, async () => {
      const current = await this.reload(machineId);
      if (!current) throw notFound("Machine");
      if (current.externalId) {
        await getProvider(this.options.providers, current.type).delete(current.externalId, this.timeout());
      }
      await this.options.db
        .update(machine)
        .set({
          externalId: null,
          desiredState: "running",
          startRequestedAt: new Date(),
          readyAt: null,
          lastError: null,
        })
        .where(eq(machine.id, machineId));
      await this.transition(machineId, "creating", "user");
      const fresh = await this.reload(machineId);
      if (!fresh) throw notFound("Machine");
      await this.provision(fresh);
    });
    this.watchUntilReady(machineId);
  }

  private async reconcile(machineId: string, observation: Observation): Promise<void> {
    const row = await this.reload(machineId);
    if (!row) return;
    if (row.desiredState === "deleted") return this.destroy(row);

    if (!row.externalId) {
      // A create interrupted before the provider answered: adopt a container made in the meantime (the
      // provider matches it by name and label) or make it now.
      if (row.observedState === "creating" && row.desiredState === "running") {
        await this.provision(row);
        this.watchUntilReady(row.id);
      }
      return;
    }

    if (observation.kind === "unreachable") {
      // Machines that should be up are shown as failing, with why; nothing is treated as gone.
      if (row.desiredState === "running" && row.observedState !== "error") {
        await this.transition(row.id, "error", "provider", observation.reason);
      }
      return;
    }

    const { state } = observation;
    if (state === "missing") {
      if (row.observedState !== "error")
        await this.transition(row.id, "error", "reconciler", CONTAINER_REMOVED_MESSAGE);
      return;
    }

    const provider = getProvider(this.options.providers, row.type);
    if (row.desiredState === "running") {
      if (state === "stopped" || state === "error") {
        // It died or the engine restarted: record that, then bring it back, as the user asked for it to run.
        await this.transition(row.id, "stopped", "provider");
        await this.setDesired(row.id, "running", { startRequestedAt: new Date() });
        await provider.start(row.externalId, this.timeout());
        await this.transition(row.id, "starting", "reconciler");
        this.watchUntilReady(row.id);
        return;
      }
      if (state === "running") {
        const endpoint = await this.options.endpoints.open(row, DAEMON_PORT);
        const verdict = await checkHealth(endpoint, 1_500);
        const healthy = verdict.healthy;
        if (verdict.oom) await this.recordOomKills(row, verdict.oom);
        if (healthy && row.observedState !== "running") {
          if (row.observedState === "starting") await this.markReady(row.id);
          else {
            const envAppliedAt = await this.applyEnv(row);
            if (envAppliedAt) await this.options.db.update(machine).set({ envAppliedAt }).where(eq(machine.id, row.id));
            await this.transition(row.id, "running", "health");
          }
        } else if (!healthy && row.observedState === "running") {
          await this.transition(row.id, "starting", "health", "The daemon stopped answering /api/health");
          this.watchUntilReady(row.id);
        }
      }
      return;
    }

    const target = row.desiredState === "archived" ? "archived" : "stopped";
    if (state === "running" || state === "starting") {
      if (target === "archived") await provider.archive(row.externalId, this.timeout());
      else await provider.stop(row.externalId, this.timeout());
      await this.transition(row.id, target, "reconciler");
      return;
    }
    if (row.observedState !== target) await this.transition(row.id, target, "provider");
  }

  /**
   * New OOM kills the daemon reports become machine events ("out of memory: node"). The daemon's count
   * only grows for one machine filesystem; a smaller count means a new filesystem, so it starts over.
   */
  private async recordOomKills(row: Machine, oom: OomReport): Promise<void> {
    const baseline = oom.kills < row.oomKills ? 0 : row.oomKills;
    const fresh = oom.kills - baseline;
    if (fresh <= 0) {
      if (oom.kills !== row.oomKills)
        await this.options.db.update(machine).set({ oomKills: oom.kills }).where(eq(machine.id, row.id));
      return;
    }
    await this.options.db.update(machine).set({ oomKills: oom.kills }).where(eq(machine.id, row.id));
    const named = oom.recent.slice(-Math.min(fresh, oom.recent.length));
    for (const kill of named) {
      await this.recordEvent(
        row,
        row.observedState,
        row.observedState,
        "health",
        `out of memory: ${kill.process ?? "unknown process"}`,
      );
    }
    if (fresh > named.length) {
      const more = fresh - named.length;
      await this.recordEvent(
        row,
        row.observedState,
        row.observedState,
        "health",
        `out of memory: ${more} more process${more === 1 ? "" : "es"}`,
      );
    }
  }

  /** A ready warm-pool member of the new machine's profile and disk size, marked for it; null when none. */
  private takeFromPool(pool: WarmPool, machineId: string, input: CreateInput) {
    // The disk size the row will have (limitsOf): a machine without its own takes the default.
    const diskMb = input.limits.diskMb ?? this.options.defaultLimits.diskMb;
    return pool
      .take({ projectId: input.projectId, profile: input.profile, diskMb, machineId })
      .catch((error: unknown) => {
        this.options.log.warn("taking a warm-pool machine failed; booting one", { error: errorMessage(error) });
        return null;
      });
  }

  /**
   * Hands the new machine the warm-pool member taken for it, and records `running` once its daemon confirmed
   * the claim: container, readiness, the `running` event and the member row's removal in one transaction.
   * Null when the claim failed (then with an event saying why, and the member removed): the caller boots
   * the machine cold.
   */
  private async claimFromPool(
    pool: WarmPool,
    row: Machine,
    member: WarmPoolMember,
    organizationId: string,
  ): Promise<Machine | null> {
    try {
      const limits = limitsOf(row, this.options.defaultLimits);
      const authToken = this.options.encryptor.decrypt(row.authTokenEncrypted);
      const env = await buildMachineEnv(this.options.db, this.options.encryptor, {
        machineId: row.id,
        projectId: row.projectId,
        stage: this.options.stage,
        authToken,
      });
      const claimed = await pool.claim(member, { token: authToken, env, limits });
      const readyAt = new Date();
      const timeToReadyMs = row.startRequestedAt ? readyAt.getTime() - row.startRequestedAt.getTime() : undefined;
      this.options.endpoints.forget(row.id);
      const current = await this.options.db.transaction(async (tx) => {
        const [updated] = await tx
          .update(machine)
          .set({
            externalId: claimed.externalId,
            metadata: claimed.metadata,
            observedState: "running",
            envAppliedAt: readyAt,
            readyAt,
            lastError: null,
          })
          .where(eq(machine.id, row.id))
          .returning();
        await tx
          .insert(machineEvent)
          .values(
            eventValues(row.id, row.observedState, "running", "health", "claimed from the warm pool", timeToReadyMs),
          );
        await pool.forget(tx, member.id);
        return updated;
      });
      pool.release(member.id);
      this.options.publish(organizationId, INVALIDATES);
      if (!current) return null; // cannot happen: the row is this work's alone while it runs
      if (timeToReadyMs !== undefined) {
        this.options.hooks?.onReady({ machine: toPublicMachine(current), organizationId, timeToReadyMs });
      }
      return current;
    } catch (error) {
      const reason = `The warm pool's machine could not be claimed (${errorMessage(error)}); booting a new one instead.`;
      this.options.log.warn(reason, { machineId: row.id, memberId: member.id });
      await this.recordEvent(row, "creating", "creating", "provider", reason);
      await pool.discard(member).catch((cleanupError: unknown) =>
        this.options.log.warn("removing a warm-pool machine whose claim failed failed; the pool removes it later", {
          memberId: member.id,
          error: errorMessage(cleanupError),
        }),
      );
      pool.release(member.id);
      return null;
    }
  }

  /** Creates the container/sandbox for a row that has none yet, and records `starting`. */
  private async provision(row: Machine): Promise<void> {
    const provider = getProvider(this.options.providers, row.type);
    // Only os2's own variables go into the container: the project's reach the daemon at every start
    // (applyEnv), so a restart applies changes and a removed variable is gone afterwards.
    const envVars = systemEnv({
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
      limits: limitsOf(row, this.options.defaultLimits),
      profile: row.profile ?? this.options.defaultProfile,
      signal: AbortSignal.timeout(CREATE_TIMEOUT_MS),
    });
    // The caller reloaded the row under the lock, so its state is the one this leaves.
    await this.settleAs(row, "starting", "provider", {
      externalId: created.externalId,
      metadata: created.metadata,
      lastError: null,
    });
  }

  /** Removes the provider's machine (by id, or by labels when the id was never stored) and then the row. */
  private async destroy(row: Machine): Promise<void> {
    const provider = getProvider(this.options.providers, row.type);
    if (row.externalId) {
      await provider.delete(row.externalId, this.timeout());
    } else {
      const leftovers = await provider.list({ "os2.machine-id": row.id, "os2.stage": this.options.stage });
      for (const leftover of leftovers) await provider.delete(leftover.externalId, this.timeout());
    }
    this.options.endpoints.forget(row.id);
    await this.options.db.delete(machine).where(eq(machine.id, row.id));
    const organizationId = await this.organizationOf(row.projectId);
    if (organizationId) this.options.publish(organizationId, INVALIDATES);
  }

  /** Polls the daemon until it is healthy, then records `running` (or `error`), unless the intent changed. */
  private watchUntilReady(machineId: string): void {
    this.watchers.get(machineId)?.abort();
    const watcher = new AbortController();
    this.watchers.set(machineId, watcher);
    const task = (async () => {
      const row = await this.reload(machineId);
      if (!row) return;
      const generation = row.startRequestedAt?.getTime();
      try {
        await waitForHealth({
          endpoint: async () => this.options.endpoints.open((await this.reload(machineId)) ?? row, DAEMON_PORT),
          timeoutMs: this.options.healthTimeoutMs ?? 60_000,
          signal: watcher.signal,
        });
      } catch (error) {
        if (this.closed || watcher.signal.aborted) return;
        await this.exclusive(machineId, async () => {
          const current = await this.reload(machineId);
          if (!current || current.desiredState !== "running" || current.startRequestedAt?.getTime() !== generation)
            return;
          await this.transition(machineId, "error", "health", errorMessage(error));
          this.notifyFailed(current, errorMessage(error));
        });
        return;
      }
      await this.exclusive(machineId, () => this.markReady(machineId, generation));
    })()
      .catch((error: unknown) => {
        if (!this.closed) this.options.log.error("watching a machine boot failed", { machineId, error: String(error) });
      })
      .finally(() => {
        if (this.watchers.get(machineId) === watcher) this.watchers.delete(machineId);
        this.background.delete(task);
      });
    this.background.add(task);
  }

  private async markReady(machineId: string, generation?: number) {
    const current = await this.reload(machineId);
    if (!current || current.desiredState !== "running") return;
    if (generation !== undefined && current.startRequestedAt?.getTime() !== generation) return;
    if (current.observedState === "running") return;
    let envAppliedAt: Date | null;
    try {
      envAppliedAt = await this.applyEnv(current);
    } catch (error) {
      const message = `Could not hand the machine its environment: ${errorMessage(error)}`;
      await this.transition(machineId, "error", "health", message);
      this.notifyFailed(current, message);
      return;
    }
    const readyAt = new Date();
    const timeToReadyMs = current.startRequestedAt ? readyAt.getTime() - current.startRequestedAt.getTime() : null;
    // Environment, readiness and `running` in one write (the row is this work's alone).
    await this.settleAs(
      current,
      "running",
      "health",
      { readyAt, lastError: null, ...(envAppliedAt ? { envAppliedAt } : {}) },
      timeToReadyMs ?? undefined,
    );
    const organizationId = await this.organizationOf(current.projectId);
    if (organizationId && timeToReadyMs !== null) {
      this.options.hooks?.onReady({ machine: toPublicMachine({ ...current, readyAt }), organizationId, timeToReadyMs });
    }
  }

  /**
   * Hands the daemon the machine's environment as it is now (project vars, the machine's overrides, os2's
   * own; `PUT /api/env`) and answers when (the caller records it). Every start does this before the
   * machine counts as running. A daemon from before that route (404) got its environment with its
   * container, and keeps it: null.
   */
  private async applyEnv(row: Machine): Promise<Date | null> {
    const env = await buildMachineEnv(this.options.db, this.options.encryptor, {
      machineId: row.id,
      projectId: row.projectId,
      stage: this.options.stage,
      authToken: this.options.encryptor.decrypt(row.authTokenEncrypted),
    });
    const endpoint = await this.options.endpoints.open(row, DAEMON_PORT, AbortSignal.timeout(ENV_APPLY_TIMEOUT_MS));
    const response = await withFreshEndpoint(endpoint, {
      perform: (current) =>
        fetch(`${current.url}/api/env`, {
          method: "PUT",
          headers: { ...current.headers, "content-type": "application/json" },
          body: JSON.stringify({ env }),
          signal: AbortSignal.timeout(ENV_APPLY_TIMEOUT_MS),
        }),
      isUnauthorized: (answer) => answer.status === 401,
      discard: (answer) => answer.body?.cancel(),
    });
    // Only the status matters; whatever the machine sent back is not read.
    await response.body?.cancel();
    if (response.status === 404) {
      this.options.log.warn("the machine's daemon has no /api/env; it keeps the environment it was created with", {
        machineId: row.id,
      });
      return null;
    }
    if (!response.ok) throw new Error(`its daemon answered HTTP ${response.status} to PUT /api/env`);
    return new Date();
  }

  private async reload(machineId: string): Promise<Machine | null> {
    const [row] = await this.options.db.select().from(machine).where(eq(machine.id, machineId));
    return row ?? null;
  }

  private async setDesired(machineId: string, desiredState: MachineDesiredState, extra: Partial<Machine> = {}) {
    if (desiredState !== "running") this.watchers.get(machineId)?.abort();
    await this.options.db
      .update(machine)
      .set({ ...extra, desiredState })
      .where(eq(machine.id, machineId));
  }

  /** Records a change of observed state (no-op when unchanged) as an event, and tells the dashboards. */
  private async transition(
    machineId: string,
    toState: MachineObservedState,
    reason: MachineEventReason,
    detail?: string,
    durationMs?: number,
  ): Promise<void> {
    this.options.endpoints.forget(machineId);
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

  /**
   * `transition` for a caller that holds the current row (read under this work's lock): the new state and
   * `fields` in one write with no reload, then the event, if the state changed.
   */
  private async settleAs(
    row: Machine,
    toState: MachineObservedState,
    reason: MachineEventReason,
    fields: Partial<typeof machine.$inferInsert>,
    durationMs?: number,
  ): Promise<void> {
    this.options.endpoints.forget(row.id);
    await this.options.db
      .update(machine)
      .set({ ...fields, observedState: toState })
      .where(eq(machine.id, row.id));
    if (row.observedState !== toState) {
      await this.recordEvent(row, row.observedState, toState, reason, undefined, durationMs);
    }
  }

  private async recordEvent(
    row: Pick<Machine, "id" | "projectId">,
    fromState: MachineObservedState | null,
    toState: MachineObservedState,
    reason: MachineEventReason,
    detail?: string,
    durationMs?: number,
  ) {
    await this.options.db
      .insert(machineEvent)
      .values(eventValues(row.id, fromState, toState, reason, detail, durationMs));
    const organizationId = await this.organizationOf(row.projectId);
    if (organizationId) this.options.publish(organizationId, INVALIDATES);
  }

  private notifyFailed(row: Machine, reason: string) {
    this.organizationOf(row.projectId)
      .then((organizationId) => {
        if (organizationId) this.options.hooks?.onFailed({ machine: toPublicMachine(row), organizationId, reason });
      })
      .catch((error: unknown) => this.options.log.warn("reporting a failed machine failed", { error: String(error) }));
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

  private timeout() {
    return AbortSignal.timeout(PROVIDER_TIMEOUT_MS);
  }
}
