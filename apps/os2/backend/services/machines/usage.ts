/**
 * A caller's live view of machines' usage: the samples of the machines they asked for, from the shared
 * streams of the usage hub, for as long as they still have access.
 *
 * Every few seconds the caller is identified again from the request's headers (a signed-out session or a
 * revoked token counts) and their access to the project checked again, as the machine proxy re-checks its
 * open connections; a removed member's stream then ends with `not_found`. Machines deleted meanwhile drop
 * out, and a recreated machine's new container is followed.
 */
import type { AccessService } from "../access.ts";
import { DomainError } from "../errors.ts";
import { isDatabaseOutage } from "../outages.ts";
import type { MachineService } from "./machine-service.ts";
import type { UsageHub, UsageSample, UsageTarget } from "./usage-hub.ts";

export type { UsageSample } from "./usage-hub.ts";

export const USAGE_RECHECK_MS = 5_000;
/** The most machines one stream follows (a page of the machines table). */
export const USAGE_MAX_MACHINES = 50;

export type UsageWatchInput = {
  /** The request's headers: the caller is identified again from them on every re-check. */
  headers: Headers;
  organizationSlug: string;
  projectSlug: string;
  projectId: string;
  machineIds: readonly string[];
  signal: AbortSignal;
};

export type UsageEvent = { machineId: string; sample: UsageSample };

export class UsageWatcher {
  constructor(
    private readonly deps: {
      access: AccessService;
      machines: Pick<MachineService, "usageTargets">;
      hub: UsageHub;
      recheckMs?: number;
    },
  ) {}

  /** The first sample of each machine as soon as there is one, then every new one; the newest only. */
  async *watch(input: UsageWatchInput): AsyncGenerator<UsageEvent> {
    const { signal } = input;
    const recheckMs = this.deps.recheckMs ?? USAGE_RECHECK_MS;
    const wanted = new Set(input.machineIds.slice(0, USAGE_MAX_MACHINES));
    const pending = new Map<string, UsageSample>();
    const subscriptions = new Map<string, { externalId: string | null; unsubscribe: () => void }>();
    let wake: (() => void) | null = null;

    const follow = (rows: UsageTarget[]) => {
      const present = new Set<string>();
      for (const row of rows) {
        if (!wanted.has(row.id)) continue;
        present.add(row.id);
        const current = subscriptions.get(row.id);
        if (current && current.externalId === row.externalId) continue;
        current?.unsubscribe();
        const unsubscribe = this.deps.hub.subscribe(row, (sample) => {
          pending.set(row.id, sample);
          wake?.();
        });
        subscriptions.set(row.id, { externalId: row.externalId, unsubscribe });
      }
      for (const [machineId, subscription] of subscriptions) {
        if (present.has(machineId)) continue;
        subscription.unsubscribe();
        subscriptions.delete(machineId);
        pending.delete(machineId);
      }
    };
    const machinesOfProject = () => this.deps.machines.usageTargets(input.projectId, [...wanted]);

    try {
      const rows = await machinesOfProject();
      // None of them in the project (a single machine's page, or a list that went stale): say so at once.
      if (!rows.some((row) => wanted.has(row.id))) {
        throw new DomainError("not_found", wanted.size === 1 ? "Machine not found" : "None of these machines exists.");
      }
      follow(rows);
      let nextCheck = Date.now() + recheckMs;
      while (!signal.aborted) {
        if (pending.size === 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, Math.max(0, nextCheck - Date.now()));
            signal.addEventListener("abort", done, { once: true });
            wake = done;
            function done() {
              clearTimeout(timer);
              signal.removeEventListener("abort", done);
              wake = null;
              resolve();
            }
          });
        }
        if (signal.aborted) return;
        if (Date.now() >= nextCheck) {
          const rows = await this.recheck(input, machinesOfProject);
          if (rows) follow(rows);
          nextCheck = Date.now() + recheckMs;
        }
        for (const [machineId, sample] of pending) {
          pending.delete(machineId);
          yield { machineId, sample };
        }
      }
    } finally {
      for (const subscription of subscriptions.values()) subscription.unsubscribe();
      subscriptions.clear();
    }
  }

  /**
   * The project's machines when the caller still has access; throws `not_found` (or `unauthorized`) when
   * not. A database outage keeps the stream (null: nothing new learned), as the proxy keeps connections.
   */
  private async recheck(
    input: UsageWatchInput,
    machinesOfProject: () => Promise<UsageTarget[]>,
  ): Promise<UsageTarget[] | null> {
    try {
      const caller = await this.deps.access.identify(input.headers);
      await this.deps.access.project(caller, input.organizationSlug, input.projectSlug);
      return await machinesOfProject();
    } catch (error) {
      if (isDatabaseOutage(error)) return null;
      throw error;
    }
  }
}
