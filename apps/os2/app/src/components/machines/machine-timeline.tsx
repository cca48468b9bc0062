/**
 * The machine's state history from `machine.events`, newest first: each transition with who caused it (the
 * user, the reconciler, the provider or a health check), its detail, and how long the step took. The duration
 * on a `running` event is the time to ready.
 */
import { useQuery } from "@tanstack/react-query";

import { errorMessage } from "../../lib/errors.ts";
import { formatFull } from "../../lib/format.ts";
import { useTRPC } from "../../lib/trpc.ts";
import { useProjectInput } from "../../routes/project.tsx";
import { ErrorText } from "../ui/field.tsx";
import { Card, CardHeader, EmptyState, PendingBlock } from "../ui/misc.tsx";
import { MachineStatusBadge } from "./machine-status.tsx";
import type { MachineEvent, ObservedState } from "./machine-types.ts";
import { formatPast, useTick } from "./relative-time.ts";

const REASON_LABELS: Record<MachineEvent["reason"], string> = {
  user: "by you or a teammate",
  reconciler: "by the reconciler",
  provider: "by the provider",
  health: "by a health check",
};

const OBSERVED_STATES: readonly ObservedState[] = [
  "creating",
  "starting",
  "running",
  "stopping",
  "stopped",
  "archived",
  "error",
  "deleting",
];

function asObservedState(state: string | null): ObservedState | null {
  return OBSERVED_STATES.find((known) => known === state) ?? null;
}

export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
}

/** The most recent time to ready, from the last `running` event that carries a duration. */
export function latestTimeToReady(events: readonly MachineEvent[]): number | null {
  for (let index = events.length - 1; index >= 0; index -= 1) {
    const event = events[index];
    if (event?.toState === "running" && event.durationMs !== null) return event.durationMs;
  }
  return null;
}

export function MachineTimeline({ machineId }: { machineId: string }) {
  const trpc = useTRPC();
  const input = useProjectInput();
  const events = useQuery(trpc.machine.events.queryOptions({ ...input, machineId }));
  useTick();
  const timeToReady = events.data ? latestTimeToReady(events.data) : null;
  return (
    <Card>
      <CardHeader
        title="Timeline"
        description={
          timeToReady !== null ? (
            <>
              Last time to ready: <span className="font-medium text-zinc-900">{formatDuration(timeToReady)}</span>
            </>
          ) : (
            "Every state change, and what caused it."
          )
        }
      />
      {events.isPending ? <PendingBlock /> : null}
      {events.error ? <ErrorText className="px-5 py-4">{errorMessage(events.error)}</ErrorText> : null}
      {events.data?.length === 0 ? <EmptyState title="No events yet" /> : null}
      {events.data && events.data.length > 0 ? (
        <ol className="px-4 py-4 sm:px-5" aria-label="Machine events">
          {[...events.data].reverse().map((event, index, all) => {
            const toState = asObservedState(event.toState);
            return (
              <li key={event.id} className="relative flex gap-3 pb-5 last:pb-0">
                {index < all.length - 1 ? (
                  <span aria-hidden="true" className="absolute top-5 bottom-0 left-[5px] w-px bg-zinc-200" />
                ) : null}
                <span
                  aria-hidden="true"
                  className="relative mt-1.5 size-[11px] shrink-0 rounded-full border-2 border-white bg-zinc-300 ring-1 ring-zinc-300"
                />
                <div className="min-w-0 flex-1">
                  <div className="flex flex-wrap items-center gap-x-2 gap-y-1 text-sm">
                    {toState ? (
                      <MachineStatusBadge state={toState} />
                    ) : (
                      <span className="font-medium">{event.toState}</span>
                    )}
                    {event.fromState ? <span className="text-zinc-500">from {event.fromState}</span> : null}
                    <span className="text-zinc-500">{REASON_LABELS[event.reason]}</span>
                    {event.durationMs !== null ? (
                      <span className="rounded bg-zinc-100 px-1.5 py-0.5 font-mono text-xs text-zinc-700">
                        {event.toState === "running" ? "ready in " : ""}
                        {formatDuration(event.durationMs)}
                      </span>
                    ) : null}
                    <time
                      className="ml-auto text-xs whitespace-nowrap text-zinc-500"
                      dateTime={new Date(event.createdAt).toISOString()}
                      title={formatFull(event.createdAt)}
                    >
                      {formatPast(event.createdAt)}
                    </time>
                  </div>
                  {event.detail ? <p className="mt-1 text-sm break-words text-zinc-600">{event.detail}</p> : null}
                </div>
              </li>
            );
          })}
        </ol>
      ) : null}
    </Card>
  );
}
