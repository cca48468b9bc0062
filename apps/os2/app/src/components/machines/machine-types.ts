/**
 * Machine shapes as the `machine` router returns them (inferred from the AppRouter type, so they never drift),
 * and the state rules the UI shares: which states are in motion, which actions make sense in which state.
 */
import type { inferRouterOutputs } from "@trpc/server";

import type { AppRouter } from "../../../../backend/trpc/app-router.ts";

type MachineOutputs = inferRouterOutputs<AppRouter>["machine"];

export type MachineRow = MachineOutputs["list"]["machines"][number];
export type MachineDetail = MachineOutputs["byId"];
export type CreatedMachine = MachineOutputs["create"];
export type MachineEvent = MachineOutputs["events"][number];
export type MachineTypeAvailability = MachineOutputs["types"][number];
export type MachineType = MachineTypeAvailability["type"];
export type ObservedState = MachineRow["observedState"];

/** Anything that fits both a list row and the detail query. */
export type MachineLike = Pick<
  MachineRow,
  "id" | "name" | "type" | "desiredState" | "observedState" | "externalId" | "lastError"
>;

export const TYPE_LABELS: Record<MachineType, string> = {
  "local-docker": "Local Docker",
  daytona: "Daytona",
};

const TRANSITIONAL: ReadonlySet<ObservedState> = new Set(["creating", "starting", "stopping", "deleting"]);

/** States the server will move out of by itself: show a spinner and poll as a fallback to the socket. */
export function isTransitional(state: ObservedState | undefined): boolean {
  return state !== undefined && TRANSITIONAL.has(state);
}

export type MachineAction = "start" | "stop" | "restart" | "archive" | "unarchive" | "recreate" | "delete";

export const ACTION_LABELS: Record<MachineAction, string> = {
  start: "Start",
  stop: "Stop",
  restart: "Restart",
  archive: "Archive",
  unarchive: "Restore",
  recreate: "Recreate",
  delete: "Delete",
};

/**
 * The actions worth offering for a machine, in menu order. The server accepts more (every call is
 * idempotent), but offering "start" on a running machine only confuses.
 */
export function availableActions(machine: MachineLike): MachineAction[] {
  // Being deleted: deleting again is all there is, and its dialog offers force delete when it is stuck.
  if (machine.desiredState === "deleted") return machine.observedState === "error" ? ["delete"] : [];
  if (machine.observedState === "deleting") return [];
  if (machine.desiredState === "archived") return ["unarchive", "delete"];
  switch (machine.observedState) {
    case "running":
      return ["stop", "restart", "archive", "delete"];
    case "stopped":
    case "archived":
      return ["start", "archive", "delete"];
    case "creating":
    case "starting":
      return ["stop", "archive", "delete"];
    case "stopping":
      return ["delete"];
    case "error":
      // Without a container there is nothing to start: the server refuses, and says to recreate.
      return machine.externalId && !needsRecreate(machine)
        ? ["start", "recreate", "archive", "delete"]
        : ["recreate", "delete"];
  }
}

/** The reconciler's verdict when the container vanished behind os2's back (services/machines/lifecycle.ts). */
export function needsRecreate(machine: Pick<MachineLike, "observedState" | "externalId" | "lastError">): boolean {
  if (machine.observedState !== "error") return false;
  return !machine.externalId || /removed|no container|not found/i.test(machine.lastError ?? "");
}
