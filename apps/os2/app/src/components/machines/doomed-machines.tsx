/**
 * The machines a project or organization deletion destroys, by name and state, shown in its confirmation.
 * Running ones are called out: their containers, terminals and agents stop at once.
 */
import { MachineStatusBadge } from "./machine-status.tsx";
import type { ObservedState } from "./machine-types.ts";

export type DoomedMachine = { id: string; name: string; state: ObservedState; projectName?: string };

export function DoomedMachines({ machines, loading }: { machines: DoomedMachine[] | undefined; loading: boolean }) {
  if (loading || !machines) return <p className="text-sm text-zinc-500">Looking up its machines…</p>;
  if (machines.length === 0) return <p className="text-sm text-zinc-600">It has no machines.</p>;
  const running = machines.filter((machine) => machine.state === "running").length;
  return (
    <div data-testid="doomed-machines">
      <p className="text-sm text-zinc-700">
        {machines.length === 1
          ? "This machine is deleted with its workspace"
          : `These ${machines.length} machines are deleted with their workspaces`}
        {running > 0 ? `; ${running} running now ${running === 1 ? "stops" : "stop"} at once` : ""}:
      </p>
      <ul className="mt-2 max-h-48 divide-y divide-zinc-100 overflow-y-auto rounded-md border border-zinc-200">
        {machines.map((machine) => (
          <li key={machine.id} className="flex items-center justify-between gap-3 px-3 py-1.5 text-sm">
            <span className="min-w-0 truncate font-mono text-[13px] text-zinc-900">
              {machine.projectName ? <span className="text-zinc-500">{machine.projectName} / </span> : null}
              {machine.name}
            </span>
            <MachineStatusBadge state={machine.state} />
          </li>
        ))}
      </ul>
    </div>
  );
}
