/**
 * "Restart to apply": the machine runs with an older environment than its project's (or its own overrides')
 * current one. Only a start hands the daemon the new one, so the callout offers the restart.
 */
import { Button } from "../ui/button.tsx";
import { ErrorText } from "../ui/field.tsx";
import { useMachineAction } from "./machine-actions.tsx";
import type { MachineLike } from "./machine-types.ts";

export function RestartToApply({ machine }: { machine: MachineLike }) {
  const { run, pendingAction, error } = useMachineAction(machine.id);
  return (
    <div
      role="status"
      data-testid="restart-to-apply"
      className="flex flex-col gap-2 rounded-lg border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900 sm:flex-row sm:items-center sm:justify-between"
    >
      <div>
        <p className="font-medium">Restart to apply</p>
        <p className="mt-0.5 text-amber-800">
          Environment variables changed after this machine started. It runs with the old values until it restarts; the
          restart ends its terminals, agents and processes, and keeps its workspace.
        </p>
        {error ? <ErrorText className="mt-1">{error}</ErrorText> : null}
      </div>
      <Button
        size="sm"
        variant="primary"
        pending={pendingAction === "restart"}
        onClick={() => void run("restart").catch(() => undefined)}
      >
        Restart now
      </Button>
    </div>
  );
}

/** The compact form, for the machines table. */
export function RestartToApplyBadge() {
  return (
    <span
      data-testid="restart-to-apply-badge"
      title="Environment variables changed after this machine started: restart it to apply them"
      className="inline-flex items-center rounded-full bg-amber-50 px-2 py-0.5 text-xs font-medium whitespace-nowrap text-amber-800 ring-1 ring-amber-200 ring-inset"
    >
      restart to apply
    </span>
  );
}
