/**
 * Pure translations between os2's machine model and Docker's container model: names, env, port bindings
 * and states. Kept free of I/O so the rules are unit-tested without an engine.
 */
import type Dockerode from "dockerode";

import type { IsolationProfile, MachineLabels, MachineLimits, ProviderMachineState } from "../types";

export { DAEMON_PORT } from "../types";
export const ENV_VAR_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

// C0 control characters and DEL. A value with a newline or NUL would corrupt the `KEY=value` array entry
// or be cut by the runtime; stripping keeps the rest of the value intact.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\x00-\x1f\x7f]/g;

/** Docker container names allow `[a-zA-Z0-9][a-zA-Z0-9_.-]*`; machine ids are already close to that. */
export function containerNameFor(machineId: string): string {
  return `os2-${machineId.replace(/[^a-zA-Z0-9_.-]/g, "-")}`;
}

export type EnvValidation = { ok: true; env: string[] } | { ok: false; invalidNames: string[] };

/** Docker takes env as `KEY=value` strings. Names are validated, values have control characters stripped. */
export function toEnvArray(envVars: Record<string, string>): EnvValidation {
  const invalidNames = Object.keys(envVars).filter((name) => !ENV_VAR_NAME_PATTERN.test(name));
  if (invalidNames.length > 0) return { ok: false, invalidNames };
  const env = Object.entries(envVars).map(([name, value]) => `${name}=${value.replace(CONTROL_CHARACTERS, "")}`);
  return { ok: true, env };
}

export type ContainerSpecInput = {
  machineId: string;
  labels: MachineLabels;
  env: string[];
  imageId: string;
  ports: readonly number[];
  limits: MachineLimits;
  profile: IsolationProfile;
  /** The os2-managed network (inter-container traffic disabled). */
  network: string;
  /** Docker runtime; `runc` (Docker's default) is left unset. */
  runtime: string;
  /** Whether the storage driver can enforce a size on the writable layer (`--storage-opt size=`). */
  diskQuota: boolean;
};

/** The image's unprivileged user (apps/os2/sandbox/Dockerfile). Every process of a machine runs as it. */
export const MACHINE_USER = "1000:1000";

/**
 * Capabilities each profile keeps; everything else is dropped. Never NET_RAW (spoofed packets), NET_ADMIN
 * or SYS_ADMIN. The non-root user has none of them in effect: they bound what `sudo` can reach.
 * `standard` keeps what sudo and apt/dpkg need; `strict` keeps nothing (and has no-new-privileges).
 */
export const PROFILE_CAPABILITIES: Record<IsolationProfile, readonly string[]> = {
  standard: [
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "SETUID",
    "SETGID",
    "SETFCAP",
    "KILL",
    "AUDIT_WRITE",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
  ],
  strict: [],
};

/** HostConfig fields that bound a machine: CPU, memory without swap, processes, disk, capabilities. */
export function isolationHostConfig(
  input: Pick<ContainerSpecInput, "limits" | "profile" | "network" | "runtime" | "diskQuota">,
) {
  const memoryBytes = input.limits.memoryMb * 1024 * 1024;
  return {
    NanoCpus: input.limits.cpuMillis * 1_000_000,
    Memory: memoryBytes,
    // Swap equal to memory means no swap on top: the budget is the budget.
    MemorySwap: memoryBytes,
    PidsLimit: input.limits.pids,
    CapDrop: ["ALL"],
    CapAdd: [...PROFILE_CAPABILITIES[input.profile]],
    // Docker's default seccomp profile stays on (no `seccomp=unconfined` here).
    SecurityOpt: input.profile === "strict" ? ["no-new-privileges:true"] : [],
    NetworkMode: input.network,
    ...(input.runtime && input.runtime !== "runc" ? { Runtime: input.runtime } : {}),
    ...(input.diskQuota && input.limits.diskMb ? { StorageOpt: { size: `${input.limits.diskMb}M` } } : {}),
  };
}

export function buildContainerSpec(input: ContainerSpecInput): Dockerode.ContainerCreateOptions {
  const exposedPorts: Record<string, object> = {};
  const portBindings: Dockerode.PortMap = {};
  for (const port of input.ports) {
    exposedPorts[`${port}/tcp`] = {};
    // Loopback only: a machine's daemon must never be reachable from the network without os2's proxy.
    // An empty HostPort lets Docker choose a free port, so machines never collide.
    portBindings[`${port}/tcp`] = [{ HostIp: "127.0.0.1", HostPort: "" }];
  }
  return {
    name: containerNameFor(input.machineId),
    // The image id, not the tag: the machine keeps the build it was created from even when the tag moves.
    Image: input.imageId,
    Env: input.env,
    Labels: {
      ...input.labels,
      "os2.managed": "true",
      "os2.machine-id": input.machineId,
      "os2.profile": input.profile,
    },
    User: MACHINE_USER,
    ExposedPorts: exposedPorts,
    HostConfig: {
      ...isolationHostConfig(input),
      PortBindings: portBindings,
      // os2's reconciler owns desired state; Docker restarting containers on its own would fight it.
      RestartPolicy: { Name: "no" },
    },
  };
}

/** Host ports on 127.0.0.1 per container port. They change after every restart, so never cache them. */
export function readPublishedPorts(ports: Dockerode.PortMap | undefined): Record<number, number> {
  const published: Record<number, number> = {};
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const containerPort = Number.parseInt(key, 10);
    // Docker reports `null` for exposed ports that are not published.
    const binding = (bindings ?? []).find((b) => b.HostIp === "127.0.0.1") ?? bindings?.[0];
    const hostPort = Number.parseInt(binding?.HostPort ?? "", 10);
    if (key.endsWith("/tcp") && Number.isInteger(containerPort) && Number.isInteger(hostPort)) {
      published[containerPort] = hostPort;
    }
  }
  return published;
}

/**
 * Docker's container status → os2's provider state. Archived machines are stopped containers (see the
 * provider's `archive`), so Docker alone cannot tell them apart: the database's desired state does.
 */
type DockerState = Pick<Dockerode.ContainerInspectInfo["State"], "Status" | "OOMKilled" | "Error">;

export function toProviderState(state: DockerState): ProviderMachineState {
  switch (state.Status) {
    case "running":
      return "running";
    case "restarting":
      return "starting";
    case "removing":
      return "deleting";
    case "dead":
      return "error";
    case "exited":
      return state.OOMKilled || state.Error ? "error" : "stopped";
    // `created`: never started (e.g. os2 crashed between create and start); `start` brings it up.
    // `paused`: processes are frozen and the daemon cannot answer. os2 never pauses; `start` reports
    // Docker's "unpause instead" as invalid_state.
    case "created":
    case "paused":
      return "stopped";
    default:
      return "error";
  }
}

/** `docker ps` reports only the status word (`running`, `exited`…). */
export function listStatusToProviderState(status: string): ProviderMachineState {
  return toProviderState({ Status: status, OOMKilled: false, Error: "" });
}
