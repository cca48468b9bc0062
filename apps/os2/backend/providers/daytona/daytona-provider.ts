/**
 * The `daytona` machine provider: each machine is a Daytona cloud sandbox created from the newest snapshot
 * of this stage (see snapshot-resolver.ts), driven through the real `@daytonaio/sdk`.
 *
 * Config comes only through the constructor (the entry point reads env). When DAYTONA_API_KEY is unset the
 * entry point uses `createUnconfiguredDaytonaProvider()` instead, which explains what to set.
 *
 * The SDK opens a socket.io connection for state events unless `useDeprecatedPolling` is set; os2 polls
 * (see reference/daytona-wire.md), so a process never hangs on a socket that Daytona's API may not offer.
 *
 * The SDK (and its API clients, axios, socket.io, OpenTelemetry) takes about a second to import, so it is
 * imported on the first operation that needs it, not at start: a server without Daytona never loads it,
 * and one with Daytona starts as fast (availability uses the snapshot resolver's plain fetch).
 */
import type { Daytona, DaytonaConfig, Sandbox } from "@daytonaio/sdk";

import { isProviderError, ProviderError } from "../errors";
import {
  type Availability,
  type CreateMachineInput,
  type CreateMachineResult,
  DAEMON_PORT,
  type DaemonEndpoint,
  type InspectResult,
  type LimitsSupport,
  type ListedMachine,
  type MachineLabels,
  type MachineProvider,
  type ProviderMachineState,
  type UsageReading,
} from "../types";
import { type Clock, systemClock } from "./clock";
import { DAYTONA_USAGE_INTERVAL_MS, daytonaUsageReading } from "./daytona-usage";
import { isDaytonaNotFound, mapDaytonaError } from "./map-daytona-error";
import { type PreviewEndpointSource, PreviewTokenRejectedError } from "./preview-request";
import { InMemoryPreviewTokenStore, type PreviewToken, type PreviewTokenStore } from "./preview-token-store";
import { SnapshotResolver } from "./snapshot-resolver";

export const DEFAULT_DAYTONA_API_URL = "https://app.daytona.io/api";
export const DAYTONA_NOT_CONFIGURED_REASON = "Daytona not configured: set DAYTONA_API_KEY";
export const PREVIEW_TOKEN_HEADER = "x-daytona-preview-token";
export const SKIP_PREVIEW_WARNING_HEADER = "X-Daytona-Skip-Preview-Warning";

export type DaytonaProviderOptions = {
  apiKey: string;
  /** Defaults to Daytona's cloud API. Always passed to the SDK, so it never picks one from env or `.env`. */
  apiUrl?: string;
  organizationId?: string;
  /** Usually `${stage}--` (DAYTONA_SNAPSHOT_PREFIX). */
  snapshotPrefix: string;
  /** DAYTONA_AUTO_STOP_MINUTES; 0 disables auto-stop. */
  autoStopMinutes: number;
  stage: string;
  previewTokenStore?: PreviewTokenStore;
  clock?: Clock;
  /** Seconds the SDK waits for a sandbox to reach `started` / `stopped`. */
  operationTimeoutSeconds?: number;
  /** Injectable so tests can share or observe one resolver. */
  snapshotResolver?: SnapshotResolver;
};

const AVAILABILITY_CACHE_MS = 15_000;

export class DaytonaProvider implements MachineProvider, PreviewEndpointSource {
  readonly type = "daytona" as const;
  private readonly sdkConfig: DaytonaConfig;
  private sdkClient: Promise<Daytona> | undefined;
  private readonly resolver: SnapshotResolver;
  private readonly tokens: PreviewTokenStore;
  private readonly clock: Clock;
  private readonly timeoutSeconds: number;
  private readonly tokenFetches = new Map<string, Promise<PreviewToken>>();
  private availabilityCache: { value: Availability; expiresAt: number } | undefined;

  constructor(private readonly options: DaytonaProviderOptions) {
    const apiUrl = options.apiUrl ?? DEFAULT_DAYTONA_API_URL;
    this.clock = options.clock ?? systemClock;
    this.timeoutSeconds = options.operationTimeoutSeconds ?? 120;
    this.tokens = options.previewTokenStore ?? new InMemoryPreviewTokenStore();
    this.sdkConfig = {
      apiKey: options.apiKey,
      apiUrl,
      ...(options.organizationId ? { organizationId: options.organizationId } : {}),
      useDeprecatedPolling: true,
    };
    this.resolver =
      options.snapshotResolver ??
      new SnapshotResolver({
        apiKey: options.apiKey,
        apiUrl,
        clock: this.clock,
        ...(options.organizationId ? { organizationId: options.organizationId } : {}),
      });
  }

  /** Available when the API answers and a snapshot exists for the prefix; the reason says what to do. */
  async availability(signal?: AbortSignal): Promise<Availability> {
    const cached = this.availabilityCache;
    if (cached && cached.expiresAt > this.clock.now()) return cached.value;
    let value: Availability;
    try {
      await this.resolver.resolve(this.options.snapshotPrefix, signal);
      value = { available: true };
    } catch (error) {
      const mapped = mapDaytonaError(error, "check availability");
      const unreachable = isProviderError(mapped, "unreachable") || isProviderError(mapped, "timeout");
      value = {
        available: false,
        reason: mapped instanceof Error ? mapped.message : String(mapped),
        ...(unreachable ? { unreachable } : {}),
      };
    }
    this.availabilityCache = { value, expiresAt: this.clock.now() + AVAILABILITY_CACHE_MS };
    return value;
  }

  async create(input: CreateMachineInput): Promise<CreateMachineResult> {
    const snapshot = await this.resolver.resolve(this.options.snapshotPrefix, input.signal);
    // The os2.* labels are how the reconciler finds this sandbox again (list by labels, orphan removal).
    const labels: Record<string, string> = { ...input.labels };
    const sandbox = await this.call(
      `create sandbox for machine ${input.machineId}`,
      async () =>
        (await this.daytona()).create(
          {
            snapshot: snapshot.name,
            envVars: input.envVars,
            labels,
            autoStopInterval: this.options.autoStopMinutes,
            public: false,
          },
          { timeout: this.timeoutSeconds },
        ),
      input.signal,
    ).catch(async (error: unknown) => {
      // The SDK throws without the sandbox id when the sandbox was created but never reached `started`
      // (timeout, error state). Remove it now rather than leave it for the reconciler's orphan sweep.
      await this.deleteByMachineId(input.machineId).catch(() => undefined);
      throw error;
    });
    return {
      externalId: sandbox.id,
      metadata: {
        snapshotName: snapshot.name,
        sandboxName: sandbox.name,
        target: sandbox.target,
        autoStopMinutes: this.options.autoStopMinutes,
        stage: this.options.stage,
      },
    };
  }

  async start(externalId: string, signal?: AbortSignal): Promise<void> {
    await this.call(
      `start sandbox ${externalId}`,
      async () => {
        const sandbox = await (await this.daytona()).get(externalId);
        if (sandbox.state === "started") return;
        if (sandbox.state === "starting" || sandbox.state === "restoring" || sandbox.state === "creating") {
          await sandbox.waitUntilStarted(this.timeoutSeconds);
          return;
        }
        if (sandbox.state === "stopping") await sandbox.waitUntilStopped(this.timeoutSeconds);
        await sandbox.start(this.timeoutSeconds);
      },
      signal,
    );
  }

  async stop(externalId: string, signal?: AbortSignal): Promise<void> {
    await this.call(
      `stop sandbox ${externalId}`,
      async () => {
        const sandbox = await (await this.daytona()).get(externalId);
        await this.stopSandbox(sandbox);
      },
      signal,
    );
  }

  /** Daytona archives only stopped sandboxes, so a running one is stopped first. */
  async archive(externalId: string, signal?: AbortSignal): Promise<void> {
    await this.call(
      `archive sandbox ${externalId}`,
      async () => {
        const sandbox = await (await this.daytona()).get(externalId);
        if (sandbox.state === "archived" || sandbox.state === "archiving") return;
        await this.stopSandbox(sandbox);
        await sandbox.archive();
      },
      signal,
    );
  }

  /** Deleting a sandbox that is gone (404, `destroyed`, `destroying`) succeeds. */
  async delete(externalId: string, signal?: AbortSignal): Promise<void> {
    await this.call(
      `delete sandbox ${externalId}`,
      async () => {
        try {
          const sandbox = await (await this.daytona()).get(externalId);
          if (sandbox.state !== "destroyed" && sandbox.state !== "destroying") {
            await sandbox.delete(this.timeoutSeconds);
          }
        } catch (error) {
          if (!isDaytonaNotFound(error)) throw error;
        }
      },
      signal,
    );
    await this.tokens.delete(externalId);
  }

  async inspect(externalId: string, signal?: AbortSignal): Promise<InspectResult> {
    try {
      const sandbox = await this.call(
        `inspect sandbox ${externalId}`,
        async () => (await this.daytona()).get(externalId),
        signal,
      );
      const metadata: Record<string, unknown> = { daytonaState: sandbox.state ?? "unknown", target: sandbox.target };
      if (sandbox.snapshot) metadata.snapshotName = sandbox.snapshot;
      const result: InspectResult = { state: toMachineState(sandbox.state), metadata };
      if (sandbox.errorReason) result.error = sandbox.errorReason;
      return result;
    } catch (error) {
      if (error instanceof ProviderError && error.kind === "not_found") return { state: "missing", metadata: {} };
      throw error;
    }
  }

  async list(labels: Partial<MachineLabels>, signal?: AbortSignal): Promise<ListedMachine[]> {
    const selector: Record<string, string> = {};
    for (const [key, value] of Object.entries(labels)) if (value !== undefined) selector[key] = value;
    return this.call(
      "list sandboxes",
      async () => {
        const machines: ListedMachine[] = [];
        for await (const sandbox of (await this.daytona()).list({ labels: selector, limit: 100 })) {
          const state = toMachineState(sandbox.state);
          if (state === "missing") continue;
          machines.push({
            externalId: sandbox.id,
            labels: { ...sandbox.labels },
            state,
            ...(sandbox.createdAt ? { createdAt: new Date(sandbox.createdAt) } : {}),
          });
        }
        return machines;
      },
      signal,
    );
  }

  /** Preview URL of the port plus the headers Daytona's preview proxy wants; the token comes from the store. */
  async daemonEndpoint(externalId: string, port: number, signal?: AbortSignal): Promise<DaemonEndpoint> {
    const cached = await this.tokens.get(externalId, port);
    const preview = cached ?? (await this.fetchPreviewToken(externalId, port, signal));
    const rejectedAgain = async (): Promise<never> => {
      await this.invalidatePreviewToken(externalId, port);
      throw new PreviewTokenRejectedError(externalId, port);
    };
    return {
      ...previewEndpoint(preview, port),
      // A rejected token is dropped and fetched afresh, once; a second rejection is not staleness.
      refresh: async (refreshSignal) => {
        await this.invalidatePreviewToken(externalId, port);
        return {
          ...previewEndpoint(await this.fetchPreviewToken(externalId, port, refreshSignal), port),
          refresh: rejectedAgain,
        };
      },
    };
  }

  /**
   * Daytona's own figures: the sandbox's latest metrics, read every few seconds while someone looks. Ends
   * when the sandbox is not started. Daytona does not count processes, so pids stay null.
   */
  async *usage(externalId: string, signal: AbortSignal): AsyncIterable<UsageReading> {
    const action = `read metrics of sandbox ${externalId}`;
    const sandbox = await this.call(action, async () => (await this.daytona()).get(externalId), signal);
    while (!signal.aborted && sandbox.state === "started") {
      // The SDK takes no signal; a deadline keeps a hung toolbox from holding the stream.
      const metrics: unknown = await this.call(
        action,
        () => sandbox.getMetricsLatest(),
        AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
      );
      const reading = daytonaUsageReading(metrics, new Date(this.clock.now()));
      if (reading) yield reading;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, DAYTONA_USAGE_INTERVAL_MS);
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }

  /** Daytona sizes sandboxes per snapshot: os2's limits are applied when `pnpm snapshot:daytona` builds one. */
  async limitsSupport(): Promise<LimitsSupport> {
    return {
      perMachine: false,
      diskQuota: true,
      notes: [
        "Daytona machines get the resources of the snapshot they boot from, set when `pnpm snapshot:daytona` " +
          "builds it (from OS2_MACHINE_CPUS, OS2_MACHINE_MEMORY and OS2_MACHINE_DISK).",
      ],
    };
  }

  async invalidatePreviewToken(externalId: string, port: number): Promise<void> {
    await this.tokens.delete(externalId, port);
  }

  /** The SDK client, imported and built on first use; a failed import is retried on the next call. */
  private daytona(): Promise<Daytona> {
    this.sdkClient ??= import("@daytonaio/sdk")
      .then(({ Daytona }) => new Daytona(this.sdkConfig))
      .catch((error: unknown) => {
        this.sdkClient = undefined;
        throw error;
      });
    return this.sdkClient;
  }

  private async deleteByMachineId(machineId: string): Promise<void> {
    for await (const sandbox of (await this.daytona()).list({ labels: { "os2.machine-id": machineId }, limit: 10 })) {
      await sandbox.delete(this.timeoutSeconds).catch(() => undefined);
    }
  }

  /** Concurrent misses for one sandbox and port share one request to Daytona. */
  private fetchPreviewToken(externalId: string, port: number, signal?: AbortSignal): Promise<PreviewToken> {
    const key = `${externalId}:${port}`;
    const pending = this.tokenFetches.get(key);
    if (pending) return pending;
    const request = this.call(
      `get preview link for port ${port} of sandbox ${externalId}`,
      async () => {
        const sandbox = await (await this.daytona()).get(externalId);
        const link = await sandbox.getPreviewLink(port);
        const preview = { url: link.url, token: link.token };
        await this.tokens.set(externalId, port, preview);
        return preview;
      },
      signal,
    ).finally(() => this.tokenFetches.delete(key));
    this.tokenFetches.set(key, request);
    return request;
  }

  private async stopSandbox(sandbox: Sandbox): Promise<void> {
    const state = sandbox.state;
    if (state === "stopped" || state === "archived" || state === "archiving") return;
    if (state === "stopping") {
      await sandbox.waitUntilStopped(this.timeoutSeconds);
      return;
    }
    if (state === "starting" || state === "restoring" || state === "creating") {
      await sandbox.waitUntilStarted(this.timeoutSeconds);
    }
    await sandbox.stop(this.timeoutSeconds);
  }

  /**
   * Runs one SDK operation, mapping its failures. The SDK takes no AbortSignal, so an abort stops the
   * caller's wait; the Daytona-side operation may still finish, which the reconciler observes later.
   */
  private async call<T>(action: string, operation: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      signal?.throwIfAborted();
      if (!signal) return await operation();
      return await new Promise<T>((resolve, reject) => {
        const onAbort = () =>
          reject(signal.reason instanceof Error ? signal.reason : new DOMException("Aborted", "AbortError"));
        signal.addEventListener("abort", onAbort, { once: true });
        operation()
          .then(resolve, reject)
          .finally(() => signal.removeEventListener("abort", onAbort));
      });
    } catch (error) {
      throw mapDaytonaError(error, action);
    }
  }
}

/** Daytona's sandbox states (SandboxState in @daytona/api-client) onto os2's provider states. */
export function toMachineState(state: string | undefined): ProviderMachineState {
  switch (state) {
    case "creating":
    case "pending_build":
    case "building_snapshot":
    case "pulling_snapshot":
      return "creating";
    case "starting":
    case "restoring":
    case "resuming":
      return "starting";
    case "started":
      return "running";
    case "stopping":
    case "pausing":
    case "archiving":
      return "stopping";
    case "stopped":
    case "paused":
      return "stopped";
    case "archived":
      return "archived";
    case "destroying":
      return "deleting";
    case "destroyed":
      return "missing";
    // Resizing, snapshotting and forking are short operations on an existing sandbox: report them as a
    // transition so the reconciler waits instead of acting on them.
    case "resizing":
    case "snapshotting":
    case "forking":
      return "starting";
    default:
      return "error";
  }
}

/** What the entry point registers when DAYTONA_API_KEY is unset: it explains, and refuses every operation. */
export function createUnconfiguredDaytonaProvider(): MachineProvider {
  const refuse = async (): Promise<never> => {
    throw new ProviderError("unavailable", DAYTONA_NOT_CONFIGURED_REASON);
  };
  return {
    type: "daytona",
    availability: async () => ({ available: false, reason: DAYTONA_NOT_CONFIGURED_REASON }),
    create: refuse,
    start: refuse,
    stop: refuse,
    archive: refuse,
    delete: refuse,
    inspect: refuse,
    // Not an empty list: that would tell the reconciler every daytona machine had disappeared.
    list: refuse,
    daemonEndpoint: refuse,
  };
}

function previewEndpoint(preview: PreviewToken, port: number): DaemonEndpoint {
  return {
    url: preview.url.replace(/\/+$/, ""),
    headers: { [PREVIEW_TOKEN_HEADER]: preview.token, [SKIP_PREVIEW_WARNING_HEADER]: "true" },
    // The daemon's own port needs its credential; any other port is the app's, straight through Daytona.
    ...(port === DAEMON_PORT ? { credentialHeader: "authorization" as const } : {}),
  };
}
