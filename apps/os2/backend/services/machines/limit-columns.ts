/**
 * The columns `effectiveLimits` (limits.ts) reads of a project and its organization, for a select of
 * `project` joined to `organization`: a project's machine defaults and the organization's maximum.
 */
import { organization } from "../../db/schema/organization.ts";
import { project } from "../../db/schema/project.ts";

export const LIMIT_COLUMNS = {
  machineCpuMillis: project.machineCpuMillis,
  machineMemoryMb: project.machineMemoryMb,
  machinePids: project.machinePids,
  maxCpuMillis: organization.maxCpuMillis,
  maxMemoryMb: organization.maxMemoryMb,
  maxPids: organization.maxPids,
  maxRunningMachines: organization.maxRunningMachines,
};
