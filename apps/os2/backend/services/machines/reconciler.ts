/**
 * The reconciler observes; the lifecycle acts. At start-up and on an interval it lists what each provider
 * holds (selected by os2's labels for this stage) and reports, machine by machine, what it saw to the
 * lifecycle (lifecycle.ts), which moves the machine toward its desired state and records why. Containers or
 * sandboxes with os2's labels but no row are handed to the lifecycle as orphans. It never starts, stops or
 * deletes anything itself, and never touches anything without os2's labels.
 */
import type { Db, Leadership } from "../../db/client.ts";
import { machine } from "../../db/schema/machine.ts";
import type { Logger } from "../../logger.ts";
import { getProvider, type ProviderRegistry } from "../../providers/registry.ts";
import { type ListedMachine, MACHINE_TYPES, type MachineType } from "../../providers/types.ts";
import type { MachineLifecycle } from "./lifecycle.ts";
import { errorMessage } from "./machine-row.ts";
import type { WarmPool } from "./warm-pool.ts";

export { CONTAINER_REMOVED_MESSAGE } from "./lifecycle.ts";

export type ReconcilerOptions = {
  db: Db;
  /** Only the leader among instances sharing the database reconciles (see db/client.ts). */
  leadership?: Leadership;
  lifecycle: MachineLifecycle;
  providers: ProviderRegistry;
  log: Logger;
  intervalMs: number;
  /** Maintained by the leader only, after each pass. */
  pool?: WarmPool | undefined;
};

export type ReconcileReport = { orphansRemoved: number; machinesChecked: number; providerErrors: string[] };

export class Reconciler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<ReconcileReport> | null = null;
  private failures = 0;
  private retryAt = 0;
  private leading: boolean | null = null;

  constructor(private readonly options: ReconcilerOptions) {}

  start() {
    const tick = () => {
      if (Date.now() < this.retryAt) return;
      this.leadingPass()
        .then(() => {
          this.failures = 0;
          this.retryAt = 0;
        })
        .catch((error: unknown) => {
          // Back off while something it needs is down (the database, say): 2×, 4×… the interval, up to 1 min.
          this.failures += 1;
          const delay = Math.min(60_000, this.options.intervalMs * 2 ** Math.min(this.failures, 6));
          this.retryAt = Date.now() + delay;
          this.options.log.error("a reconcile pass failed; retrying later", {
            error: errorMessage(error),
            failures: this.failures,
            retryInMs: delay,
          });
        });
    };
    tick();
    this.timer = setInterval(tick, this.options.intervalMs);
    this.timer.unref();
  }

  /** A pass, if this instance leads; logs when it becomes or stops being the leader. */
  private async leadingPass(): Promise<void> {
    const leads = (await this.options.leadership?.check()) ?? true;
    if (leads !== this.leading) {
      this.leading = leads;
      this.options.log.info(
        leads ? "this instance is now the reconciler leader" : "another instance leads the reconciler",
      );
    }
    this.options.pool?.setLeading(leads);
    if (leads) {
      await this.reconcileOnce();
      // In the background: the pool boots its members one at a time, never holding up a pass.
      this.options.pool?.kick();
    }
  }

  async stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
    await this.options.pool?.close();
  }

  /** One pass; concurrent callers share the pass in flight. */
  reconcileOnce(): Promise<ReconcileReport> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(): Promise<ReconcileReport> {
    const { lifecycle, log } = this.options;
    const report: ReconcileReport = { orphansRemoved: 0, machinesChecked: 0, providerErrors: [] };
    const rows = await this.options.db
      .select({ id: machine.id, type: machine.type, externalId: machine.externalId })
      .from(machine);
    for (const type of MACHINE_TYPES) {
      const typeRows = rows.filter((row) => row.type === type);
      let listed: ListedMachine[];
      try {
        listed = await this.listManaged(type);
      } catch (error) {
        // An unconfigured or unreachable provider: its machines are marked, never treated as gone.
        report.providerErrors.push(`${type}: ${errorMessage(error)}`);
        for (const row of typeRows) {
          await lifecycle
            .observe(row.id, { kind: "unreachable", reason: errorMessage(error) })
            .catch((cause: unknown) => {
              log.warn("marking a machine unreachable failed", { machineId: row.id, error: errorMessage(cause) });
            });
        }
        continue;
      }
      const knownIds = new Set(rows.map((row) => row.id));
      const knownExternalIds = new Set(rows.map((row) => row.externalId));
      for (const item of listed) {
        const machineId = item.labels["os2.machine-id"];
        if (machineId && knownIds.has(machineId)) continue;
        // A claimed warm-pool container is its machine's by external id; an unclaimed one is the pool's.
        if (knownExternalIds.has(item.externalId) || item.labels["os2.pool"] === "true") continue;
        if (item.labels["os2.installation"] === undefined) continue; // made before installation ids: never an orphan
        const removed = await lifecycle.removeOrphan(type, item).catch((error: unknown) => {
          log.warn("removing an orphaned machine failed", {
            type,
            externalId: item.externalId,
            error: errorMessage(error),
          });
          return false;
        });
        if (removed) report.orphansRemoved += 1;
      }
      const byMachineId = new Map(listed.map((item) => [item.labels["os2.machine-id"], item]));
      const byExternalId = new Map(listed.map((item) => [item.externalId, item]));
      for (const row of typeRows) {
        const item = (row.externalId ? byExternalId.get(row.externalId) : undefined) ?? byMachineId.get(row.id);
        const state = item?.state ?? "missing";
        const observed = await lifecycle.observe(row.id, { kind: "listed", state }).catch((error: unknown) => {
          log.warn("reconciling a machine failed", { machineId: row.id, error: errorMessage(error) });
          return true;
        });
        if (observed) report.machinesChecked += 1;
      }
    }
    return report;
  }

  /**
   * This installation's machines: another os2 sharing the Docker host or Daytona organization has its own
   * installation id, and its machines are dropped here. Machines made before installation ids existed
   * carry none; they are kept only to be matched to rows (never removed as orphans).
   */
  private async listManaged(type: MachineType): Promise<ListedMachine[]> {
    const provider = getProvider(this.options.providers, type);
    const { installationId, stage } = this.options.lifecycle;
    const listed = await provider.list({ "os2.managed": "true", "os2.stage": stage }, AbortSignal.timeout(10_000));
    return listed.filter((item) => {
      const owner = item.labels["os2.installation"];
      return owner === installationId || owner === undefined;
    });
  }
}
