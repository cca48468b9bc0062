/**
 * What a new machine may use. Three layers, each within the one above it:
 *
 *   installation maximum (OS2_MAX_MACHINE_*)  ≥  organization maximum (set by a system administrator)
 *   installation default (OS2_MACHINE_*)  →  project default  →  what the create request asks for
 *
 * A request above the organization's maximum is refused with a message naming the field and the maximum.
 * Memory has no swap on top (swap equals memory), so a machine cannot page its way past its budget.
 */
import type { IsolationProfile, MachineLimits } from "../../providers/types.ts";
import { DomainError } from "../errors.ts";

export type LimitsRequest = Partial<Pick<MachineLimits, "cpuMillis" | "memoryMb" | "pids">>;

export type InstallationLimits = {
  defaults: MachineLimits;
  maximum: Pick<MachineLimits, "cpuMillis" | "memoryMb" | "pids">;
  maxRunningMachinesPerOrganization: number;
  profile: IsolationProfile;
};

export type OrganizationLimits = {
  maxCpuMillis: number | null;
  maxMemoryMb: number | null;
  maxPids: number | null;
  maxRunningMachines: number | null;
};

export type ProjectLimits = {
  machineCpuMillis: number | null;
  machineMemoryMb: number | null;
  machinePids: number | null;
};

export type EffectiveLimits = {
  defaults: MachineLimits;
  maximum: Pick<MachineLimits, "cpuMillis" | "memoryMb" | "pids">;
  maxRunningMachines: number;
};

/** The organization's view: its maximum (never above the installation's) and its projects' default. */
export function effectiveLimits(
  installation: InstallationLimits,
  organization: OrganizationLimits,
  project: ProjectLimits | null,
): EffectiveLimits {
  const cap = (own: number | null, installationMax: number) => Math.min(own ?? installationMax, installationMax);
  const maximum = {
    cpuMillis: cap(organization.maxCpuMillis, installation.maximum.cpuMillis),
    memoryMb: cap(organization.maxMemoryMb, installation.maximum.memoryMb),
    pids: cap(organization.maxPids, installation.maximum.pids),
  };
  const within = (value: number, max: number) => Math.min(value, max);
  const defaults: MachineLimits = {
    cpuMillis: within(project?.machineCpuMillis ?? installation.defaults.cpuMillis, maximum.cpuMillis),
    memoryMb: within(project?.machineMemoryMb ?? installation.defaults.memoryMb, maximum.memoryMb),
    pids: within(project?.machinePids ?? installation.defaults.pids, maximum.pids),
    diskMb: installation.defaults.diskMb,
  };
  return {
    defaults,
    maximum,
    maxRunningMachines: organization.maxRunningMachines ?? installation.maxRunningMachinesPerOrganization,
  };
}

const LABELS = { cpuMillis: "cpus", memoryMb: "memoryMb", pids: "pids" } as const;

export function describeLimit(field: keyof typeof LABELS, value: number): string {
  if (field === "cpuMillis") return `${value / 1000} CPU${value === 1000 ? "" : "s"}`;
  if (field === "memoryMb") return value % 1024 === 0 ? `${value / 1024} GiB` : `${value} MiB`;
  return `${value} processes`;
}

/** The limits a machine gets; refuses values above the maximum, naming the field and the maximum. */
export function resolveLimits(effective: EffectiveLimits, request: LimitsRequest = {}): MachineLimits {
  const limits: MachineLimits = { ...effective.defaults };
  for (const field of ["cpuMillis", "memoryMb", "pids"] as const) {
    const asked = request[field];
    if (asked === undefined) continue;
    const max = effective.maximum[field];
    if (asked > max) {
      throw new DomainError(
        "bad_request",
        `${LABELS[field]}: at most ${describeLimit(field, max)} per machine in this organization (asked for ${describeLimit(field, asked)}).`,
      );
    }
    limits[field] = asked;
  }
  return limits;
}
