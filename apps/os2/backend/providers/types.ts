/**
 * The machine provider interface. One implementation per machine type (`local-docker`, `daytona`), picked
 * once at the entry point. Adapters receive their config through their constructor and never read env.
 *
 * Every operation is idempotent: starting a running machine, stopping a stopped one, or deleting a machine
 * that no longer exists returns normally. Vendor errors are turned into `ProviderError` (see errors.ts) in
 * exactly one function per adapter.
 */

/** The port the daemon listens on inside every machine (see apps/os2/sandbox). */
export const DAEMON_PORT = 3000;

export type MachineType = "local-docker" | "daytona";
export const MACHINE_TYPES: readonly MachineType[] = ["local-docker", "daytona"] as const;

/** What the provider itself reports; `running` here means the container/sandbox runs, not that the daemon is healthy. */
export type ProviderMachineState =
  | "creating"
  | "starting"
  | "running"
  | "stopping"
  | "stopped"
  | "archived"
  | "error"
  | "deleting"
  | "missing";

/** Labels put on every container or sandbox os2 creates. The reconciler only ever touches these. */
export type MachineLabels = {
  "os2.managed": "true";
  "os2.machine-id": string;
  "os2.project-id": string;
  "os2.stage": string;
};

export type CreateMachineInput = {
  machineId: string;
  name: string;
  /** Already merged: project vars, machine overrides, then system vars. */
  envVars: Record<string, string>;
  labels: MachineLabels;
  signal?: AbortSignal;
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
};

export type DaemonEndpoint = {
  /** Base URL of the given port, without a trailing slash, e.g. http://127.0.0.1:49153 */
  url: string;
  /** Extra headers the proxy must send (e.g. Daytona's preview token). */
  headers: Record<string, string>;
};

export type Availability = { available: true } | { available: false; reason: string };

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
  /** Container/sandbox logs (not the daemon's service logs), newest last. */
  logs?(externalId: string, options: { tail: number }, signal?: AbortSignal): Promise<string>;
}
