/**
 * Live usage of machines, sampled once per machine however many people look.
 *
 * One channel per machine: the first subscriber opens the provider's stream (Docker's stats stream, or
 * Daytona's metrics, polled), every later one shares it, and the last to leave closes it after a short
 * grace period (so a page that re-subscribes, or a table whose visible rows change, does not reopen it).
 * A stream that ends (the machine stopped) or fails is reopened after a pause while anyone still looks.
 * Disk use, which costs Docker a walk of the container's writable layer, is read at a slow cadence.
 *
 * Subscribers get the newest sample only: a slow reader skips samples instead of queueing them.
 */
import type { Logger } from "../../logger.ts";
import { getProvider, type ProviderRegistry } from "../../providers/registry.ts";
import type { MachineType, UsageReading } from "../../providers/types.ts";
import { errorMessage } from "./machine-row.ts";

/**
 * One sample as the API sends it. CPU is given twice: `cpuCores` (cores busy, 1 = one full core) and
 * `cpuPercent`, the share of the machine's CPU limit in use (100 = all of its `cpuLimitCores`).
 */
export type UsageSample = {
  /** Milliseconds since the epoch. */
  at: number;
  cpuPercent: number | null;
  cpuCores: number | null;
  cpuLimitCores: number | null;
  memoryBytes: number | null;
  memoryLimitBytes: number | null;
  pids: number | null;
  pidsLimit: number | null;
  diskBytes: number | null;
  diskLimitBytes: number | null;
};

/** What the hub needs of a machine row: where it runs and the limits os2 gave it. */
export type UsageTarget = {
  id: string;
  type: MachineType;
  externalId: string | null;
  cpuMillis: number | null;
  memoryMb: number | null;
  pids: number | null;
  diskMb: number | null;
};

export type UsageHubOptions = {
  providers: ProviderRegistry;
  log: Logger;
  /** How long a channel stays open after its last subscriber left. */
  graceMs?: number;
  /** How often disk use is read (where it is a separate, costly read). */
  diskIntervalMs?: number;
  /** The pause before a stream that ended or failed is opened again. */
  retryMs?: number;
};

const MIB = 1024 * 1024;

type Channel = {
  key: string;
  target: UsageTarget;
  listeners: Set<(sample: UsageSample) => void>;
  latest: UsageSample | null;
  diskBytes: number | null;
  diskLimitBytes: number | null;
  abort: AbortController;
  closeTimer: NodeJS.Timeout | null;
};

export class UsageHub {
  private readonly channels = new Map<string, Channel>();
  private readonly graceMs: number;
  private readonly diskIntervalMs: number;
  private readonly retryMs: number;

  constructor(private readonly options: UsageHubOptions) {
    this.graceMs = options.graceMs ?? 5_000;
    this.diskIntervalMs = options.diskIntervalMs ?? 30_000;
    this.retryMs = options.retryMs ?? 3_000;
  }

  /** Provider streams open now (for tests and the log). */
  get openChannels(): number {
    return this.channels.size;
  }

  /**
   * Calls `listener` with each new sample of the machine (at once with the newest, if there is one) until
   * the returned function is called.
   */
  subscribe(target: UsageTarget, listener: (sample: UsageSample) => void): () => void {
    // A recreated machine has a new container: a channel of its own.
    const key = `${target.id}\n${target.externalId ?? ""}`;
    let channel = this.channels.get(key);
    if (!channel) {
      channel = {
        key,
        target,
        listeners: new Set(),
        latest: null,
        diskBytes: null,
        diskLimitBytes: null,
        abort: new AbortController(),
        closeTimer: null,
      };
      // A channel is kept only while it has a listener or a close timer: one that cannot open is not kept.
      this.open(channel);
      this.channels.set(key, channel);
    }
    if (channel.closeTimer) clearTimeout(channel.closeTimer);
    channel.closeTimer = null;
    channel.listeners.add(listener);
    if (channel.latest) listener(channel.latest);
    const opened = channel;
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      opened.listeners.delete(listener);
      if (opened.listeners.size > 0 || opened.closeTimer) return;
      opened.closeTimer = setTimeout(() => this.closeChannel(opened), this.graceMs);
      opened.closeTimer.unref();
    };
  }

  close(): void {
    for (const channel of [...this.channels.values()]) this.closeChannel(channel);
  }

  private closeChannel(channel: Channel): void {
    if (channel.closeTimer) clearTimeout(channel.closeTimer);
    channel.closeTimer = null;
    if (this.channels.get(channel.key) === channel) this.channels.delete(channel.key);
    channel.abort.abort();
  }

  private open(channel: Channel): void {
    const { target } = channel;
    const provider = getProvider(this.options.providers, target.type);
    const signal = channel.abort.signal;
    const externalId = target.externalId;
    if (!provider.usage || !externalId) return;
    const usage = provider.usage.bind(provider);

    provider
      .limitsSupport?.(signal)
      .then((support) => {
        // A disk limit is shown only where the provider enforces it.
        if (support.diskQuota && target.diskMb) channel.diskLimitBytes = target.diskMb * MIB;
      })
      .catch(() => undefined);

    if (provider.diskUsage) {
      const diskUsage = provider.diskUsage.bind(provider);
      (async () => {
        let failing = false;
        while (!signal.aborted) {
          try {
            channel.diskBytes = await diskUsage(externalId, signal);
            failing = false;
          } catch (error) {
            if (signal.aborted) return;
            if (!failing) this.warn("reading a machine's disk use failed; trying again later", target, error);
            failing = true;
          }
          await pause(this.diskIntervalMs, signal);
        }
      })().catch((error: unknown) => this.warn("reading a machine's disk use stopped", target, error));
    }

    (async () => {
      let failing = false;
      let idleRetries = 0;
      while (!signal.aborted) {
        let readings = 0;
        try {
          for await (const reading of usage(externalId, signal)) {
            if (signal.aborted) return;
            readings += 1;
            failing = false;
            this.emit(channel, toSample(reading, channel));
          }
        } catch (error) {
          if (signal.aborted) return;
          if (!failing) this.warn("a machine's usage stream failed; reopening it while someone looks", target, error);
          failing = true;
        }
        // A stopped machine ends its stream at once: ask less often the longer it stays so (up to 5×).
        idleRetries = readings > 0 ? 0 : Math.min(idleRetries + 1, 5);
        await pause(this.retryMs * Math.max(1, idleRetries), signal);
      }
    })().catch((error: unknown) => this.warn("a machine's usage stream stopped", target, error));
  }

  private warn(message: string, target: UsageTarget, error: unknown): void {
    this.options.log.warn(message, { machineId: target.id, error: errorMessage(error) });
  }

  private emit(channel: Channel, sample: UsageSample): void {
    channel.latest = sample;
    for (const listener of channel.listeners) {
      try {
        listener(sample);
      } catch (error) {
        this.options.log.warn("a usage listener threw", { machineId: channel.target.id, error: errorMessage(error) });
      }
    }
  }
}

/** The provider's figures against the machine's limits: the provider's own limit wins where it reports one. */
export function toSample(
  reading: UsageReading,
  context: { target: UsageTarget; diskBytes: number | null; diskLimitBytes: number | null },
): UsageSample {
  const { target } = context;
  const cpuLimitCores = reading.cpuLimitCores ?? (target.cpuMillis ? target.cpuMillis / 1000 : null);
  const cpuPercent =
    reading.cpuCores !== null && cpuLimitCores
      ? Math.min(100, Math.max(0, (reading.cpuCores / cpuLimitCores) * 100))
      : null;
  return {
    at: reading.at.getTime(),
    cpuPercent: cpuPercent === null ? null : Math.round(cpuPercent * 10) / 10,
    cpuCores: reading.cpuCores === null ? null : Math.round(reading.cpuCores * 1000) / 1000,
    cpuLimitCores,
    memoryBytes: reading.memoryBytes,
    memoryLimitBytes: reading.memoryLimitBytes ?? (target.memoryMb ? target.memoryMb * MIB : null),
    pids: reading.pids,
    pidsLimit: reading.pidsLimit ?? target.pids,
    diskBytes: reading.diskBytes ?? context.diskBytes,
    diskLimitBytes: reading.diskLimitBytes ?? context.diskLimitBytes,
  };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
