/** The live status badge: a color per observed state, and a spinner while the machine is on its way somewhere. */
import { clsx } from "clsx";

import { Spinner } from "../ui/button.tsx";
import { isTransitional, type ObservedState } from "./machine-types.ts";

const TONES: Record<ObservedState, string> = {
  running: "bg-emerald-50 text-emerald-800 ring-emerald-200",
  creating: "bg-sky-50 text-sky-800 ring-sky-200",
  starting: "bg-sky-50 text-sky-800 ring-sky-200",
  stopping: "bg-amber-50 text-amber-800 ring-amber-200",
  deleting: "bg-amber-50 text-amber-800 ring-amber-200",
  stopped: "bg-zinc-100 text-zinc-700 ring-zinc-200",
  archived: "bg-zinc-50 text-zinc-500 ring-zinc-200",
  error: "bg-red-50 text-red-700 ring-red-200",
};

const DOTS: Partial<Record<ObservedState, string>> = {
  running: "bg-emerald-500",
  stopped: "bg-zinc-400",
  archived: "bg-zinc-300",
  error: "bg-red-500",
};

export function MachineStatusBadge({ state, className }: { state: ObservedState; className?: string }) {
  return (
    <span
      data-testid="machine-status"
      data-state={state}
      className={clsx(
        "inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-medium whitespace-nowrap ring-1 ring-inset",
        TONES[state],
        className,
      )}
    >
      {isTransitional(state) ? (
        <Spinner className="size-3" />
      ) : (
        <span aria-hidden="true" className={clsx("size-1.5 rounded-full", DOTS[state])} />
      )}
      {state}
    </span>
  );
}
