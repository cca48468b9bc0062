/**
 * The warm pool: local machines booted ahead of demand, so a create hands out one that is already up.
 *
 * - Members boot from the provider's current image, with the installation's default profile and limits,
 *   and no project data: their container env holds only a one-time pool credential (`OS2_POOL_TOKEN`),
 *   which their daemon accepts on `PUT /api/claim` alone.
 * - Ownership: a member's container carries `os2.pool=true` and `os2.machine-id=<member id>`, and its row
 *   is in `warm_pool_member`. Labels cannot change, so at claim the machine's row takes the container as
 *   its `external_id` and the member row is deleted in the same transaction; from then on the machine row's
 *   `external_id` alone ties the container to its machine (the reconciler matches by it).
 * - At claim (`claim`) the daemon gets the machine's env and its own token (the pool credential is revoked
 *   there and then), and the container its limits (`docker update`); the lifecycle records `running` only
 *   after the new token works, the pool credential is refused and health is good.
 * - Only the reconciler's leader maintains the pool (`maintain`): it drains members of an older image,
 *   another profile or other limits, or past their age, removes leftovers of interrupted boots and claims,
 *   and boots new members one at a time, in the background, so user requests never wait on it.
 * - Members belong to no project: they never count against an organization's quota.
 * - Per project: a project may keep members of its own (`project.warm_pool_size`, at most
 *   OS2_WARM_POOL_PROJECT_MAX each and OS2_WARM_POOL_RESERVED_MAX in all, shared out one at a time across
 *   the projects asking, oldest project first). They are booted with that project's default limits and
 *   still hold no project data; the reservation is `warm_pool_member.project_id`, never a label. A create
 *   takes one of its project's own first, then a shared one. A project set back to 0, or deleted, drains its.
 */
import { claimRequestSchema, DAEMON_PORT } from "@os2/protocol";
import { and, asc, eq, gt, inArray, isNull, or, sql } from "drizzle-orm";

import { type Encryptor, randomToken } from "../../crypto.ts";
import type { Db, Queryable } from "../../db/client.ts";
import { machine } from "../../db/schema/machine.ts";
import { organization } from "../../db/schema/organization.ts";
import { project } from "../../db/schema/project.ts";
import { warmPoolMember, type WarmPoolMemberState } from "../../db/schema/warm-pool.ts";
import { newId } from "../../ids.ts";
import type { Logger } from "../../logger.ts";
import type { ProviderRegistry } from "../../providers/registry.ts";
import type {
  DaemonEndpoint,
  IsolationProfile,
  MachineLabels,
  MachineLimits,
  MachineProvider,
  MachineType,
} from "../../providers/types.ts";
import { checkHealth, waitForHealth } from "./daemon-health.ts";
import { LIMIT_COLUMNS } from "./limit-columns.ts";
import { effectiveLimits, type InstallationLimits } from "./limits.ts";
import { errorMessage } from "./machine-row.ts";

export type WarmPoolMember = typeof warmPoolMember.$inferSelect;

export type WarmPoolOptions = {
  db: Db;
  encryptor: Encryptor;
  providers: ProviderRegistry;
  stage: string;
  installationId: string;
  /** How many shared members to keep booted; 0 turns the shared pool off. */
  size: number;
  /** The most members one project may keep for itself (OS2_WARM_POOL_PROJECT_MAX); 0: none may. */
  projectMax?: number;
  /** The most members all projects together keep for themselves (OS2_WARM_POOL_RESERVED_MAX). */
  reservedMax?: number;
  /** A member older than this is replaced. */
  maxAgeMs: number;
  /** The installation's limits: shared members get its defaults, a project's members its project's. */
  limits: InstallationLimits;
  log: Logger;
  /** How long a member may boot, or a claim take, before it is taken for the leftover of a crash. */
  bootTimeoutMs?: number;
  claimTimeoutMs?: number;
};

/** What the admin page shows of a member. */
export type WarmPoolMemberView = {
  id: string;
  state: WarmPoolMemberState;
  /** The project it is kept for, or null (shared). */
  project: { id: string; name: string } | null;
  externalId: string | null;
  imageVersion: string;
  profile: string;
  ageMs: number;
  stale: boolean;
};

/** What the pool keeps booted for one party: the shared pool (projectId null) or one project. */
export type PoolTarget = { projectId: string | null; size: number; limits: MachineLimits };

const CLAIM_TIMEOUT_MS = 10_000;
const PROVIDER_TIMEOUT_MS = 60_000;

export class WarmPool {
  readonly type: MachineType = "local-docker";
  private readonly bootTimeoutMs: number;
  private readonly claimTimeoutMs: number;
  /** Members this process is booting or claiming right now: never taken for leftovers. */
  private readonly working = new Set<string>();
  private maintaining: Promise<void> | null = null;
  private again = false;
  private leading = false;
  private closed = false;

  /**
   * The most members one project may keep for itself, and all projects together. Both 0 when projects may
   * keep none: either cap is 0, or there is no local Docker to boot them on.
   */
  readonly projectMax: number;
  readonly reservedMax: number;

  constructor(private readonly options: WarmPoolOptions) {
    const projectMax = options.projectMax ?? 0;
    const reservedMax = options.reservedMax ?? 0;
    const reserving = projectMax > 0 && reservedMax > 0 && this.provider() !== null;
    this.projectMax = reserving ? projectMax : 0;
    this.reservedMax = reserving ? reservedMax : 0;
    this.bootTimeoutMs = options.bootTimeoutMs ?? 120_000;
    // A claim is bounded by CLAIM_TIMEOUT_MS and a few queries: one this old was cut by a crash.
    this.claimTimeoutMs = options.claimTimeoutMs ?? 30_000;
  }

  get size() {
    return this.options.size;
  }

  private provider(): MachineProvider | null {
    const provider = this.options.providers[this.type];
    return provider?.imageVersion && provider.updateLimits ? provider : null;
  }

  get enabled(): boolean {
    return (this.options.size > 0 || this.reservedMax > 0) && this.provider() !== null && !this.closed;
  }

  /**
   * What to keep booted now: the shared pool, then each project that asks for members of its own, with its
   * default limits. The reserved total is shared out one member per project per round, oldest project
   * first, so one project asking for many cannot take every slot.
   */
  async targets(): Promise<PoolTarget[]> {
    const targets: PoolTarget[] = [{ projectId: null, size: this.options.size, limits: this.options.limits.defaults }];
    const reservedMax = this.reservedMax;
    if (reservedMax === 0) return targets;
    const rows = await this.options.db
      .select({
        id: project.id,
        warmPoolSize: project.warmPoolSize,
        ...LIMIT_COLUMNS,
      })
      .from(project)
      .innerJoin(organization, eq(organization.id, project.organizationId))
      .where(gt(project.warmPoolSize, 0))
      .orderBy(asc(project.createdAt), asc(project.id))
      // Every project asking gets its first member before any gets a second: more than this many get none.
      .limit(reservedMax);
    const wanted = rows.map((row) => Math.min(row.warmPoolSize ?? 0, this.projectMax));
    const allotted = rows.map(() => 0);
    for (let left = reservedMax; left > 0;) {
      let given = 0;
      for (let i = 0; i < rows.length && left > 0; i++) {
        if (allotted[i]! >= wanted[i]!) continue;
        allotted[i]! += 1;
        left -= 1;
        given += 1;
      }
      if (given === 0) break;
    }
    rows.forEach((row, i) => {
      if (allotted[i]! > 0) {
        targets.push({
          projectId: row.id,
          size: allotted[i]!,
          limits: effectiveLimits(this.options.limits, row, row).defaults,
        });
      }
    });
    return targets;
  }

  /** Labels of a member's container: this installation's, the member's id, no project, and `os2.pool`. */
  labelsFor(memberId: string): MachineLabels {
    return {
      "os2.managed": "true",
      "os2.installation": this.options.installationId,
      "os2.machine-id": memberId,
      "os2.project-id": "",
      "os2.stage": this.options.stage,
      "os2.pool": "true",
    };
  }

  /**
   * Takes a ready member of this profile and disk size for a machine of this project, or null (the caller
   * boots one cold): one the project keeps for itself first, else a shared one, never another project's.
   * Marked `claiming` in one statement, so two creates never take the same member.
   */
  async take(input: {
    projectId: string;
    profile: IsolationProfile;
    diskMb: number | null;
    machineId: string;
  }): Promise<WarmPoolMember | null> {
    if (!this.enabled) return null;
    // A candidate, then a conditional update of that one row: when another create took it first, the next.
    for (let attempt = 0; attempt < 5; attempt++) {
      const [candidate] = await this.options.db
        .select({ id: warmPoolMember.id })
        .from(warmPoolMember)
        .where(
          and(
            eq(warmPoolMember.type, this.type),
            eq(warmPoolMember.state, "ready"),
            eq(warmPoolMember.profile, input.profile),
            input.diskMb === null ? isNull(warmPoolMember.diskMb) : eq(warmPoolMember.diskMb, input.diskMb),
            or(eq(warmPoolMember.projectId, input.projectId), isNull(warmPoolMember.projectId)),
          ),
        )
        .orderBy(sql`${warmPoolMember.projectId} is null`, asc(warmPoolMember.createdAt))
        .limit(1);
      if (!candidate) return null;
      const [taken] = await this.options.db
        .update(warmPoolMember)
        .set({ state: "claiming", claimedBy: input.machineId, stateChangedAt: new Date() })
        .where(and(eq(warmPoolMember.id, candidate.id), eq(warmPoolMember.state, "ready")))
        .returning();
      if (!taken) continue;
      this.working.add(taken.id);
      return taken;
    }
    return null;
  }
  /**
   * Hands a taken member to its machine: its limits (`docker update`, when they differ from the pool's),
   * then its env and token (`PUT /api/claim`, with the pool credential), and confirms: the machine's
   * token works, the pool credential is refused, health is good. Throws saying what failed.
   */
  async claim(
    member: WarmPoolMember,
    input: { token: string; env: Record<string, string>; limits: MachineLimits },
  ): Promise<{ externalId: string; metadata: Record<string, unknown> }> {
    const provider = this.provider();
    if (!provider?.updateLimits || !member.externalId) throw new Error("the pool member has no container");
    const externalId = member.externalId;
    const signal = AbortSignal.timeout(CLAIM_TIMEOUT_MS);
    const poolToken = this.options.encryptor.decrypt(member.poolTokenEncrypted);
    const sameLimits =
      input.limits.cpuMillis === member.cpuMillis &&
      input.limits.memoryMb === member.memoryMb &&
      input.limits.pids === member.pids;
    // The container's address and metadata, and its limits, in parallel: nothing here waits on the others.
    const [endpoint, inspected] = await Promise.all([
      provider.daemonEndpoint(externalId, DAEMON_PORT, signal),
      provider.inspect(externalId, signal),
      sameLimits ? undefined : provider.updateLimits(externalId, input.limits, signal),
    ]);
    const body = claimRequestSchema.parse({ token: input.token, env: input.env });
    const answer = await fetch(`${endpoint.url}/api/claim`, {
      method: "PUT",
      headers: { ...endpoint.headers, authorization: `Bearer ${poolToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal,
    });
    // Only the status matters; nothing the machine sent is read.
    await answer.body?.cancel();
    if (answer.status !== 200) throw new Error(`its daemon answered HTTP ${answer.status} to PUT /api/claim`);
    const [own, pool, health] = await Promise.all([
      statusWith(endpoint, input.token, signal),
      statusWith(endpoint, poolToken, signal),
      checkHealth(endpoint, 2_000),
    ]);
    if (own !== 200) throw new Error(`its daemon answered HTTP ${own} to the machine's own token after the claim`);
    if (pool !== 401) throw new Error(`its daemon still answered HTTP ${pool} to the pool credential after the claim`);
    if (!health.healthy) throw new Error(`its daemon is not healthy after the claim: ${health.reason}`);
    return { externalId, metadata: inspected.metadata };
  }

  /** A member taken for a machine that was never written (its create was refused): ready again, untouched. */
  async putBack(member: WarmPoolMember, machineId: string): Promise<void> {
    await this.options.db
      .update(warmPoolMember)
      .set({ state: "ready", claimedBy: null, stateChangedAt: new Date() })
      .where(
        and(
          eq(warmPoolMember.id, member.id),
          eq(warmPoolMember.state, "claiming"),
          eq(warmPoolMember.claimedBy, machineId),
        ),
      )
      .catch((error: unknown) =>
        this.options.log.warn("returning a warm-pool member failed; the pool drains it later", {
          memberId: member.id,
          error: errorMessage(error),
        }),
      );
    this.working.delete(member.id);
  }

  /** The claim is complete: the member row goes in the transaction that gives the machine its container. */
  async forget(tx: Queryable, memberId: string): Promise<void> {
    await tx.delete(warmPoolMember).where(eq(warmPoolMember.id, memberId));
  }

  /** A member whose claim failed, or whose claim is over: no longer worked on here; refill soon. */
  release(memberId: string) {
    this.working.delete(memberId);
    this.kick();
  }

  /** Removes a member: its container first, then its row (a crash between leaves a container the next pass removes). */
  async discard(member: Pick<WarmPoolMember, "id" | "externalId">): Promise<void> {
    const provider = this.provider();
    if (member.externalId && provider)
      await provider.delete(member.externalId, AbortSignal.timeout(PROVIDER_TIMEOUT_MS));
    await this.options.db.delete(warmPoolMember).where(eq(warmPoolMember.id, member.id));
    this.working.delete(member.id);
  }

  /** Told by the reconciler on every pass: only its leader maintains the pool. */
  setLeading(leading: boolean) {
    this.leading = leading;
  }

  /** Maintains soon, in the background, if this instance leads (after a claim, say). */
  kick() {
    if (!this.leading || this.closed) return;
    this.maintain().catch((error: unknown) =>
      this.options.log.warn("maintaining the warm pool failed", { error: errorMessage(error) }),
    );
  }

  /** One maintenance pass at a time; a call during one runs another after it. */
  maintain(): Promise<void> {
    if (this.maintaining) {
      this.again = true;
      return this.maintaining;
    }
    this.maintaining = (async () => {
      do {
        this.again = false;
        await this.pass();
      } while (this.again && !this.closed);
    })().finally(() => {
      this.maintaining = null;
    });
    return this.maintaining;
  }

  async list(now = Date.now()): Promise<WarmPoolMemberView[]> {
    const [rows, current, targets] = await Promise.all([
      this.options.db
        .select({ member: warmPoolMember, projectName: project.name })
        .from(warmPoolMember)
        .leftJoin(project, eq(project.id, warmPoolMember.projectId))
        .orderBy(asc(warmPoolMember.createdAt)),
      this.currentImage().catch(() => null),
      this.targets(),
    ]);
    const byParty = targetsByParty(targets);
    return rows.map(({ member: row, projectName }) => ({
      id: row.id,
      state: row.state,
      project: row.projectId ? { id: row.projectId, name: projectName ?? "" } : null,
      externalId: row.externalId,
      imageVersion: row.imageVersion,
      profile: row.profile,
      ageMs: now - row.createdAt.getTime(),
      stale: this.isStale(row, byParty.get(row.projectId ?? ""), current, now),
    }));
  }

  /** What one project asked for, what it was allotted, and its members now (its settings page). */
  async projectView(projectId: string) {
    const [[asked], targets, rows] = await Promise.all([
      this.options.db.select({ size: project.warmPoolSize }).from(project).where(eq(project.id, projectId)),
      this.targets(),
      this.options.db
        .select({ state: warmPoolMember.state })
        .from(warmPoolMember)
        .where(eq(warmPoolMember.projectId, projectId)),
    ]);
    const allotted = targets.find((target) => target.projectId === projectId)?.size ?? 0;
    return {
      size: asked?.size ?? 0,
      allotted,
      ready: rows.filter((row) => row.state === "ready").length,
      booting: rows.filter((row) => row.state === "booting").length,
      max: this.projectMax,
      reservedMax: this.reservedMax,
    };
  }

  /**
   * At shutdown the leader removes its waiting members (ready or booting), so a server that stops leaves no
   * warm machines behind for nobody; the next leader boots fresh ones. Members being claimed are left to
   * their claim.
   */
  async close(): Promise<void> {
    const leading = this.leading;
    this.closed = true;
    this.leading = false;
    await this.maintaining?.catch(() => undefined);
    if (!leading) return;
    const provider = this.provider();
    const waiting = await this.options.db
      .delete(warmPoolMember)
      .where(and(eq(warmPoolMember.type, this.type), inArray(warmPoolMember.state, ["ready", "booting"])))
      .returning()
      .catch(() => []);
    await Promise.all(
      waiting.map(async (member) => {
        if (member.externalId && provider) {
          await provider.delete(member.externalId, AbortSignal.timeout(10_000)).catch(() => undefined);
        }
      }),
    );
  }

  private currentImage(): Promise<string | null> {
    const provider = this.provider();
    return provider?.imageVersion ? provider.imageVersion(AbortSignal.timeout(5_000)) : Promise.resolve(null);
  }

  /**
   * Of another image, profile or limits than its party's new machines get now, or past its age, or kept
   * for a project that no longer keeps members (no target).
   */
  private isStale(row: WarmPoolMember, target: PoolTarget | undefined, currentImage: string | null, now: number) {
    if (!target) return true;
    const limits = target.limits;
    return (
      (currentImage !== null && row.imageVersion !== currentImage) ||
      row.profile !== this.options.limits.profile ||
      row.cpuMillis !== limits.cpuMillis ||
      row.memoryMb !== limits.memoryMb ||
      row.pids !== limits.pids ||
      row.diskMb !== limits.diskMb ||
      now - row.createdAt.getTime() > this.options.maxAgeMs
    );
  }

  private async pass(): Promise<void> {
    const provider = this.provider();
    if (!provider || this.closed) return;
    const now = Date.now();
    const [currentImage, targets] = await Promise.all([this.currentImage(), this.targets()]);
    const byParty = targetsByParty(targets);
    // Containers first, rows second: every member container's row is written before it and deleted after it.
    const containers = await provider.list(
      { "os2.managed": "true", "os2.stage": this.options.stage, "os2.pool": "true" },
      AbortSignal.timeout(10_000),
    );
    const rows = await this.options.db.select().from(warmPoolMember).where(eq(warmPoolMember.type, this.type));
    const claimedIds = new Set(
      (
        await this.options.db
          .select({ externalId: machine.externalId })
          .from(machine)
          .where(inArray(machine.externalId, containers.map((c) => c.externalId).concat("")))
      ).map((row) => row.externalId),
    );
    const memberContainers = new Set(rows.map((row) => row.externalId));
    const memberIds = new Set(rows.map((row) => row.id));

    // Leftovers: containers of this installation's pool that no member and no machine holds.
    for (const container of containers) {
      if (container.labels["os2.installation"] !== this.options.installationId) continue;
      if (claimedIds.has(container.externalId) || memberContainers.has(container.externalId)) continue;
      if (memberIds.has(container.labels["os2.machine-id"] ?? "")) continue; // its boot is recording it
      await provider.delete(container.externalId, AbortSignal.timeout(PROVIDER_TIMEOUT_MS));
      this.options.log.info("removed a warm-pool container no member or machine holds", {
        externalId: container.externalId,
      });
    }

    const listed = new Map(containers.map((c) => [c.externalId, c]));
    const reasonFor = (row: WarmPoolMember): string | null => {
      const age = now - row.stateChangedAt.getTime();
      const container = row.externalId ? listed.get(row.externalId) : undefined;
      if (row.state === "booting") return age > this.bootTimeoutMs ? "its boot was interrupted" : null;
      if (row.state === "claiming") return age > this.claimTimeoutMs ? "its claim was interrupted" : null;
      if (!container || container.state !== "running") return "its container is gone or stopped";
      if (this.isStale(row, byParty.get(row.projectId ?? ""), currentImage, now)) {
        return "it is of an older image, another profile or limits, or past its age, or its project keeps none now";
      }
      return null;
    };
    const reasons = new Map(rows.map((row) => [row.id, this.working.has(row.id) ? null : reasonFor(row)]));
    // Members beyond their party's size (a size lowered): counting those booting, then the newest ready
    // first, the oldest ready ones go.
    const kept = new Map<string, number>();
    const inUse = rows
      .filter((row) => row.state !== "claiming" && !reasons.get(row.id))
      .sort((x, y) =>
        x.state !== y.state ? (x.state === "booting" ? -1 : 1) : y.createdAt.getTime() - x.createdAt.getTime(),
      );
    for (const row of inUse) {
      const party = row.projectId ?? "";
      const count = (kept.get(party) ?? 0) + 1;
      kept.set(party, count);
      if (row.state === "ready" && !this.working.has(row.id) && count > (byParty.get(party)?.size ?? 0)) {
        reasons.set(row.id, "its pool is smaller now");
      }
    }
    for (const row of rows) {
      const reason = reasons.get(row.id);
      if (!reason) continue;
      // Claimed from here on by nobody: only a row still in the state seen is removed.
      const [gone] = await this.options.db
        .delete(warmPoolMember)
        .where(and(eq(warmPoolMember.id, row.id), eq(warmPoolMember.state, row.state)))
        .returning();
      if (!gone) continue;
      if (gone.externalId) await provider.delete(gone.externalId, AbortSignal.timeout(PROVIDER_TIMEOUT_MS));
      this.options.log.info("drained a warm-pool member", { memberId: row.id, reason });
    }

    // Refill, one at a time: members in use (booting, ready) up to each party's size, the shared pool first.
    while (!this.closed && this.leading) {
      const counted = await this.options.db
        .select({ projectId: warmPoolMember.projectId, n: sql<number>`count(*)::int` })
        .from(warmPoolMember)
        .where(
          and(
            eq(warmPoolMember.type, this.type),
            or(eq(warmPoolMember.state, "booting"), eq(warmPoolMember.state, "ready")),
          ),
        )
        .groupBy(warmPoolMember.projectId);
      const counts = new Map(counted.map((row) => [row.projectId ?? "", row.n]));
      const short = targets.find((target) => (counts.get(target.projectId ?? "") ?? 0) < target.size);
      if (!short) break;
      await this.boot(provider, short);
    }
  }

  private async boot(provider: MachineProvider, target: PoolTarget): Promise<void> {
    const id = newId("warmPoolMember");
    const poolToken = randomToken(32);
    const limits = target.limits;
    const profile = this.options.limits.profile;
    this.working.add(id);
    try {
      const imageVersion = (await provider.imageVersion?.(AbortSignal.timeout(5_000))) ?? "";
      // The row before the container, so a container never exists without something that owns it.
      await this.options.db.insert(warmPoolMember).values({
        id,
        type: this.type,
        projectId: target.projectId,
        poolTokenEncrypted: this.options.encryptor.encrypt(poolToken),
        imageVersion,
        profile,
        cpuMillis: limits.cpuMillis,
        memoryMb: limits.memoryMb,
        pids: limits.pids,
        diskMb: limits.diskMb,
        state: "booting",
      });
      let externalId: string | null = null;
      try {
        const created = await provider.create({
          machineId: id,
          name: id,
          envVars: { OS2_POOL_TOKEN: poolToken, OS2_STAGE: this.options.stage },
          labels: this.labelsFor(id),
          limits,
          profile,
          signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
        });
        externalId = created.externalId;
        const booted = typeof created.metadata.imageId === "string" ? created.metadata.imageId : imageVersion;
        await this.options.db
          .update(warmPoolMember)
          .set({ externalId, imageVersion: booted })
          .where(eq(warmPoolMember.id, id));
        const container = externalId;
        await waitForHealth({
          endpoint: () => provider.daemonEndpoint(container, DAEMON_PORT, AbortSignal.timeout(5_000)),
          timeoutMs: this.bootTimeoutMs,
        });
        await this.options.db
          .update(warmPoolMember)
          .set({ state: "ready", stateChangedAt: new Date() })
          .where(and(eq(warmPoolMember.id, id), eq(warmPoolMember.state, "booting")));
      } catch (error) {
        this.options.log.warn("booting a warm-pool member failed", { memberId: id, error: errorMessage(error) });
        await this.discard({ id, externalId }).catch(() => undefined);
        throw error;
      }
    } finally {
      this.working.delete(id);
    }
  }
}

/** Targets by party: "" for the shared pool, else the project's id. */
function targetsByParty(targets: PoolTarget[]): Map<string, PoolTarget> {
  return new Map(targets.map((target) => [target.projectId ?? "", target]));
}

/** The status a daemon route answers to this token; the body is not read. */
async function statusWith(endpoint: DaemonEndpoint, token: string, signal: AbortSignal): Promise<number> {
  const answer = await fetch(`${endpoint.url}/api/oom`, {
    headers: { ...endpoint.headers, authorization: `Bearer ${token}` },
    signal,
  });
  await answer.body?.cancel();
  return answer.status;
}
