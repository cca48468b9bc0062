/**
 * The reconciler compares the database with what the providers hold (selected by os2's labels for this
 * stage) and with daemon health, at start-up and on an interval:
 * - it moves observed state toward desired state, recording each transition with its reason;
 * - it finishes what a crash interrupted (a row still `creating` without a container, a delete half done);
 * - it removes orphans: containers or sandboxes with os2's labels whose row is gone;
 * - it never touches anything without os2's labels.
 */
import { machine } from "../../db/schema/machine.ts";
import type { Db } from "../../db/client.ts";
import type { Logger } from "../../logger.ts";
import { getProvider, type ProviderRegistry } from "../../providers/registry.ts";
import { MACHINE_TYPES, type ListedMachine, type MachineType } from "../../providers/types.ts";
import { DAEMON_PORT, probeHealth } from "./daemon-health.ts";
import { errorMessage, type Machine, type MachineService } from "./machine-service.ts";

export const CONTAINER_REMOVED_MESSAGE = "The container was removed outside os2. Recreate the machine or delete it.";

export type ReconcilerOptions = {
  db: Db;
  service: MachineService;
  providers: ProviderRegistry;
  log: Logger;
  intervalMs: number;
};

export type ReconcileReport = { orphansRemoved: number; machinesChecked: number; providerErrors: string[] };

export class Reconciler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<ReconcileReport> | null = null;

  constructor(private readonly options: ReconcilerOptions) {}

  start() {
    void this.reconcileOnce();
    this.timer = setInterval(() => void this.reconcileOnce(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** One pass; concurrent callers share the pass in flight. */
  reconcileOnce(): Promise<ReconcileReport> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(): Promise<ReconcileReport> {
    const report: ReconcileReport = { orphansRemoved: 0, machinesChecked: 0, providerErrors: [] };
    const rows = await this.options.db.select().from(machine);
    for (const type of MACHINE_TYPES) {
      const typeRows = rows.filter((row) => row.type === type);
      let listed: ListedMachine[];
      try {
        listed = await this.listManaged(type);
      } catch (error) {
        report.providerErrors.push(`${type}: ${errorMessage(error)}`);
        await this.markUnreachable(typeRows, errorMessage(error));
        continue;
      }
      report.orphansRemoved += await this.removeOrphans(type, listed, new Set(rows.map((row) => row.id)));
      const byMachineId = new Map(listed.map((item) => [item.labels["os2.machine-id"], item]));
      for (const row of typeRows) {
        if (this.options.service.mutex.isBusy(row.id)) continue;
        report.machinesChecked += 1;
        await this.options.service.mutex
          .run(row.id, () => this.reconcileMachine(row, byMachineId.get(row.id)))
          .catch((error: unknown) => {
            this.options.log.warn("reconciling a machine failed", { machineId: row.id, error: errorMessage(error) });
          });
      }
    }
    return report;
  }

  private async listManaged(type: MachineType) {
    // An unconfigured or unreachable provider throws here; its machines are then marked, never treated as gone.
    const provider = getProvider(this.options.providers, type);
    return provider.list({ "os2.managed": "true", "os2.stage": this.options.service.stage }, AbortSignal.timeout(10_000));
  }

  private async removeOrphans(type: MachineType, listed: ListedMachine[], knownIds: Set<string>) {
    let removed = 0;
    for (const item of listed) {
      const machineId = item.labels["os2.machine-id"];
      // Only os2's own labels mark something as ours; anything without them is never touched.
      if (item.labels["os2.managed"] !== "true" || item.labels["os2.stage"] !== this.options.service.stage) continue;
      if (machineId && knownIds.has(machineId)) continue;
      if (machineId && this.options.service.mutex.isBusy(machineId)) continue;
      await getProvider(this.options.providers, type).delete(item.externalId, AbortSignal.timeout(60_000));
      this.options.log.info("removed an orphaned machine", { type, externalId: item.externalId, machineId });
      removed += 1;
    }
    return removed;
  }

  private async reconcileMachine(stale: Machine, listed: ListedMachine | undefined) {
    const service = this.options.service;
    const row = await service.reload(stale.id);
    if (!row) return;
    const provider = getProvider(this.options.providers, row.type);

    if (row.desiredState === "deleted") return service.destroy(row);

    if (!row.externalId) {
      // A create interrupted before the provider answered: adopt a container made in the meantime (the
      // provider matches it by name and label) or make it now.
      if (row.observedState === "creating" && row.desiredState === "running") {
        await service.provision(row);
        service.watchUntilReady(row.id);
      }
      return;
    }

    const state = listed?.state ?? "missing";
    if (state === "missing") {
      if (row.observedState !== "error") await service.transition(row.id, "error", "reconciler", CONTAINER_REMOVED_MESSAGE);
      return;
    }

    if (row.desiredState === "running") {
      if (state === "stopped" || state === "error") {
        // It died or the engine restarted: record that, then bring it back, as the user asked for it to run.
        await service.transition(row.id, "stopped", "provider");
        await service.setDesired(row.id, "running", { startRequestedAt: new Date() });
        await provider.start(row.externalId, AbortSignal.timeout(60_000));
        await service.transition(row.id, "starting", "reconciler");
        service.watchUntilReady(row.id);
        return;
      }
      if (state === "running") {
        const healthy = await probeHealth(await service.endpointFor(row, DAEMON_PORT), 1_500).catch(() => false);
        if (healthy && row.observedState !== "running") {
          if (row.observedState === "starting") await service.markReady(row.id);
          else await service.transition(row.id, "running", "health");
        } else if (!healthy && row.observedState === "running") {
          await service.transition(row.id, "starting", "health", "The daemon stopped answering /api/health");
          service.watchUntilReady(row.id);
        }
      }
      return;
    }

    const target = row.desiredState === "archived" ? "archived" : "stopped";
    if (state === "running" || state === "starting") {
      if (target === "archived") await provider.archive(row.externalId, AbortSignal.timeout(60_000));
      else await provider.stop(row.externalId, AbortSignal.timeout(60_000));
      await service.transition(row.id, target, "reconciler");
      return;
    }
    if (row.observedState !== target) await service.transition(row.id, target, "provider");
  }

  /** When a provider can't be reached, machines of that type that were up are shown as failing, with why. */
  private async markUnreachable(rows: Machine[], reason: string) {
    for (const row of rows) {
      if (this.options.service.mutex.isBusy(row.id)) continue;
      if (row.desiredState !== "running" || row.observedState === "error") continue;
      await this.options.service.mutex.run(row.id, () =>
        this.options.service.transition(row.id, "error", "provider", reason),
      );
    }
  }
}

