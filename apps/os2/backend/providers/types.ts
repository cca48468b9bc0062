/**
 * The machine provider interface. One implementation per machine type (`local-docker`, `daytona`), picked
 * once at the entry point. Adapters receive their config through their constructor and never read env.
 *
 * Every operation is idempotent: starting a running machine, stopping a stopped one, or deleting a machine
 * that no longer exists returns normally. Vendor errors are turned into `ProviderError` (see errors.ts) in
 * exactly one function per adapter.
 */

export { DAEMON_PORT } from "@os2/protocol";

export type MachineType = "local-docker" | "daytona";
export const MACHINE_TYPES: readonly MachineType[] = ["local-docker", "daytona"] as const;

/** What the provider itself reports; `running` here means the container/sandbox runs, not that the daemon is healthy. */
export type ProviderMachineState =
  "creating" | "starting" | "running" | "stopping" | "stopped" | "archived" | "error" | "deleting" | "missing";

/**
 * Labels put on every container or sandbox os2 creates. The reconciler only ever touches these, and only
 * those of its own installation (`os2.installation`: the id of the database that created it).
 */
export type MachineLabels = {
  "os2.managed": "true";
  "os2.installation": string;
  "os2.machine-id": string;
  "os2.project-id": string;
  "os2.stage": string;
  /**
   * On warm-pool machines only (services/machines/warm-pool.ts): booted ahead of demand, with the pool
   * member's id as `os2.machine-id` and an empty `os2.project-id`. Labels never change, so once claimed
   * the machine row's `externalId` is what ties the container to its machine.
   */
  "os2.pool"?: "true";
};

/** What a machine may use. CPUs in thousandths (500 = half a core); disk null = no quota asked for. */
export type MachineLimits = { cpuMillis: number; memoryMb: number; pids: number; diskMb: number | null };

/**
 * How a machine is confined. Both run everything as the non-root user `os2` with all capabilities dropped
 * but the few sudo needs; `standard` has passwordless sudo (so `sudo apt-get install` works), `strict`
 * has none and sets no-new-privileges, so nothing inside can ever become root.
 */
export type IsolationProfile = "standard" | "strict";
export const ISOLATION_PROFILES: readonly IsolationProfile[] = ["standard", "strict"] as const;

export type CreateMachineInput = {
  machineId: string;
  name: string;
  /** Already merged: project vars, machine overrides, then system vars. */
  envVars: Record<string, string>;
  labels: MachineLabels;
  limits: MachineLimits;
  profile: IsolationProfile;
  signal?: AbortSignal;
};

/** Which limits this provider can apply per machine, and where it cannot, why (shown in the UI). */
export type LimitsSupport = {
  perMachine: boolean;
  diskQuota: boolean;
  notes: string[];
};

export type CreateMachineResult = {
  externalId: string;
  metadata: Record<string, unknown>;
};

export type InspectResult = {
  state: ProviderMachineState;
  metadata: Record<string, unknown>;
  error?: string;
};

export type ListedMachine = {
  externalId: string;
  labels: Record<string, string>;
  state: ProviderMachineState;
  /** When the provider made it, where it says; orphans younger than a grace period are left alone. */
  createdAt?: Date;
};

export type DaemonEndpoint = {
  /** Base URL of the given port, without a trailing slash, e.g. http://127.0.0.1:49153 */
  url: string;
  /** Extra headers every request to this endpoint must carry (e.g. Daytona's preview token). */
  headers: Record<string, string>;
  /**
   * The endpoint is the daemon (its own API, or its forward to another port inside the machine), so every
   * request needs the machine's daemon credential, in this header: `authorization` (as `Bearer <token>`)
   * for the daemon's API, `x-os2-machine-token` for forwarded ports, whose `Authorization` is the app's.
   */
  credentialHeader?: "authorization" | "x-os2-machine-token";
  /**
   * The endpoint passes the `Host` header it receives on to the app (local Docker's daemon forward), so a
   * door sends the public preview host; otherwise the endpoint's own host is sent (Daytona routes by it).
   */
  forwardsHost?: boolean;
  /**
   * Present when the endpoint's credentials can go stale (Daytona rotates preview tokens). Called after the
   * machine answered 401 to these headers: it drops the stale credential and returns a freshly fetched
   * endpoint, or throws a provider error saying why no fresher one exists (e.g. a second rejection).
   */
  refresh?: (signal?: AbortSignal) => Promise<DaemonEndpoint>;
};

/**
 * Where a provider may cache per-port endpoint credentials across restarts (Daytona's preview URL and
 * token). The control plane passes its encrypted database table; tests pass an in-memory one.
 */
export type PreviewToken = { url: string; token: string };

export interface PreviewTokenStore {
  get(machineExternalId: string, port: number): Promise<PreviewToken | null>;
  set(machineExternalId: string, port: number, value: PreviewToken): Promise<void>;
  /** Without a port, forgets every port of the machine (used when the sandbox is deleted). */
  delete(machineExternalId: string, port?: number): Promise<void>;
}

/**
 * `unreachable`: the engine or API did not answer (a fault that may pass: os2 answers 503), as opposed to
 * a set-up problem the user must fix (a missing image or key: 412).
 */
export type Availability = { available: true } | { available: false; reason: string; unreachable?: boolean };

/**
 * One reading of what a running machine uses. CPU is in cores (1 = one full core busy), so it compares
 * with `cpuLimitCores` and with the machine's `cpuMillis` / 1000. Null: this source has no such figure.
 */
export type UsageReading = {
  at: Date;
  /** Cores busy on average since the previous reading; null on the first reading of a stream. */
  cpuCores: number | null;
  /** The CPUs the provider says the machine may use, where it says (Daytona); Docker's stats have none. */
  cpuLimitCores: number | null;
  /** Memory in use, without the inactive page cache the kernel reclaims first. */
  memoryBytes: number | null;
  memoryLimitBytes: number | null;
  pids: number | null;
  pidsLimit: number | null;
  diskBytes: number | null;
  diskLimitBytes: number | null;
};

export interface MachineProvider {
  readonly type: MachineType;
  /** Whether this provider can create machines right now, and why not. Cheap; may be cached briefly. */
  availability(signal?: AbortSignal): Promise<Availability>;
  create(input: CreateMachineInput): Promise<CreateMachineResult>;
  start(externalId: string, signal?: AbortSignal): Promise<void>;
  stop(externalId: string, signal?: AbortSignal): Promise<void>;
  archive(externalId: string, signal?: AbortSignal): Promise<void>;
  delete(externalId: string, signal?: AbortSignal): Promise<void>;
  inspect(externalId: string, signal?: AbortSignal): Promise<InspectResult>;
  list(labels: Partial<MachineLabels>, signal?: AbortSignal): Promise<ListedMachine[]>;
  daemonEndpoint(externalId: string, port: number, signal?: AbortSignal): Promise<DaemonEndpoint>;
  /**
   * Which build new machines are created from (local Docker: the image id its tag points to now), so a
   * warm pool can tell when its machines are from an older image. Absent: the provider has no warm pool.
   */
  imageVersion?(signal?: AbortSignal): Promise<string>;
  /** Changes a running machine's CPU, memory and process limits (`docker update`); disk stays as created. */
  updateLimits?(externalId: string, limits: MachineLimits, signal?: AbortSignal): Promise<void>;
  /** Which limits this provider applies (none, when absent); cheap, may be cached. */
  limitsSupport?(signal?: AbortSignal): Promise<LimitsSupport>;
  /** Container/sandbox logs (not the daemon's service logs), newest last. */
  logs?(externalId: string, options: { tail: number }, signal?: AbortSignal): Promise<string>;
  /**
   * The same logs followed: the last `tail` lines, then new ones as the machine writes them, in batches of
   * whole lines (each cut at LOG_LINE_MAX_CHARS). The stream is read only as fast as the caller pulls, and
   * ends when the container stops or `signal` aborts (which closes the stream at the engine too).
   */
  followLogs?(externalId: string, options: { tail: number }, signal: AbortSignal): AsyncIterable<string[]>;
  /**
   * Live readings of a running machine until `signal` aborts (Docker's stats stream; Daytona's latest
   * metrics, polled). Ends, or throws a provider error, when the machine stops or cannot be read.
   */
  usage?(externalId: string, signal: AbortSignal): AsyncIterable<UsageReading>;
  /**
   * Bytes the machine's own filesystem uses, where that costs more than a live reading (Docker walks the
   * container's writable layer), so callers read it at a slow cadence. Null when unknown.
   */
  diskUsage?(externalId: string, signal?: AbortSignal): Promise<number | null>;
}
