import { describe, expect, it } from "vitest";

import type { Logger } from "../../logger.ts";
import type { ProviderRegistry } from "../../providers/registry.ts";
import type { MachineProvider, UsageReading } from "../../providers/types.ts";
import type { AccessService } from "../access.ts";
import { DomainError } from "../errors.ts";
import { type UsageEvent, UsageWatcher } from "./usage.ts";
import { UsageHub, type UsageTarget } from "./usage-hub.ts";

const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const machine: UsageTarget = {
  id: "mach_1",
  type: "local-docker",
  externalId: "c1",
  cpuMillis: 2000,
  memoryMb: 1024,
  pids: 100,
  diskMb: null,
};

/** A provider whose stream yields a reading every 20 ms until aborted: the hub's only outside part here. */
function tickingProviders(): ProviderRegistry {
  const provider = {
    type: "local-docker",
    async *usage(_externalId: string, signal: AbortSignal): AsyncIterable<UsageReading> {
      while (!signal.aborted) {
        yield {
          at: new Date(),
          cpuCores: 1,
          cpuLimitCores: null,
          memoryBytes: 512 * 1024 * 1024,
          memoryLimitBytes: null,
          pids: 5,
          pidsLimit: null,
          diskBytes: null,
          diskLimitBytes: null,
        };
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  } as unknown as MachineProvider;
  return { "local-docker": provider, daytona: provider };
}

function accessThatCanBeRevoked() {
  let allowed = true;
  const access = {
    identify: () => Promise.resolve({ kind: "anonymous" }),
    project: () => (allowed ? Promise.resolve({}) : Promise.reject(new DomainError("not_found", "Project not found"))),
  } as unknown as AccessService;
  return { access, revoke: () => (allowed = false) };
}

const input = (signal: AbortSignal, machineIds = [machine.id]) => ({
  headers: new Headers(),
  organizationSlug: "org",
  projectSlug: "proj",
  projectId: "proj_1",
  machineIds,
  signal,
});

describe("a caller's usage stream", () => {
  it("gives samples against the machine's limits, and ends with not_found once the caller lost access", async () => {
    const hub = new UsageHub({ providers: tickingProviders(), log: silent, graceMs: 10 });
    const { access, revoke } = accessThatCanBeRevoked();
    const watcher = new UsageWatcher({
      access,
      machines: { usageTargets: () => Promise.resolve([machine]) },
      hub,
      recheckMs: 100,
    });
    const events: UsageEvent[] = [];
    const stream = watcher.watch(input(new AbortController().signal));
    const ended = (async () => {
      for await (const event of stream) {
        events.push(event);
        if (events.length === 3) revoke();
      }
    })();
    await expect(ended).rejects.toThrow("Project not found");
    expect(events[0]).toMatchObject({
      machineId: machine.id,
      sample: { cpuPercent: 50, cpuCores: 1, cpuLimitCores: 2, memoryLimitBytes: 1024 * 1024 * 1024, pidsLimit: 100 },
    });
    // The stream's subscription is gone: the hub closes the provider stream after its grace period.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(hub.openChannels).toBe(0);
    hub.close();
  });

  it("stops when the client goes away, and drops a machine deleted meanwhile", async () => {
    const hub = new UsageHub({ providers: tickingProviders(), log: silent, graceMs: 10 });
    const { access } = accessThatCanBeRevoked();
    const other = { ...machine, id: "mach_2", externalId: "c2" };
    let rows = [machine, other];
    const watcher = new UsageWatcher({
      access,
      machines: { usageTargets: () => Promise.resolve(rows) },
      hub,
      recheckMs: 50,
    });
    const client = new AbortController();
    const seen = new Set<string>();
    const afterDelete = new Set<string>();
    let deletedAt = 0;
    for await (const event of watcher.watch(input(client.signal, [machine.id, other.id, "mach_unknown"]))) {
      if (deletedAt === 0) {
        seen.add(event.machineId);
        if (seen.size === 2) {
          rows = [machine];
          deletedAt = Date.now();
        }
      } else if (Date.now() - deletedAt > 150) {
        afterDelete.add(event.machineId);
        if (afterDelete.size > 0 && Date.now() - deletedAt > 400) client.abort();
      }
    }
    expect([...seen].sort()).toEqual(["mach_1", "mach_2"]);
    expect([...afterDelete]).toEqual(["mach_1"]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(hub.openChannels).toBe(0);
    hub.close();
  });
});

describe("the usage hub's channels", () => {
  it("a machine whose stream cannot be opened leaves no channel behind", () => {
    const providers = { daytona: tickingProviders().daytona } as unknown as ProviderRegistry;
    const hub = new UsageHub({ providers, log: silent, graceMs: 10 });
    expect(() => hub.subscribe(machine, () => {})).toThrow(/Unknown machine type "local-docker"/);
    expect(hub.openChannels).toBe(0);
    hub.close();
  });
});
