/**
 * `/orgs/$org/projects/$project/machines`: the project's machines with live status, type, age and actions,
 * a "Show archived" toggle and the create dialog. `/machines/$machineId` (machine-page.tsx) is a child.
 *
 * The list comes a page at a time (50 machines, newest first) with "Show more" below it: the first paint
 * costs one small request however many machines the project has, and a realtime refresh re-reads only the
 * pages on screen. Fetching every page instead would make each state change of any machine re-read all
 * of them (20 requests and 1,000 rows for a project of 1,000). The header counts come from machine.counts.
 *
 * Live: the realtime socket invalidates `machine.*` queries on every state change; while a machine is in a
 * transitional state the list also polls every 2 s, in case a push is lost.
 */
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { createRoute, Link } from "@tanstack/react-router";
import { useState } from "react";

import { CreateMachineDialog } from "../components/machines/create-machine-dialog.tsx";
import { MachineActionsMenu } from "../components/machines/machine-actions.tsx";
import { MachineStatusBadge } from "../components/machines/machine-status.tsx";
import { isTransitional, type MachineRow, TYPE_LABELS } from "../components/machines/machine-types.ts";
import { UsageCell, useMachinesUsage, useOnScreen } from "../components/machines/machine-usage.tsx";
import { formatPast, useTick } from "../components/machines/relative-time.ts";
import { RestartToApplyBadge } from "../components/machines/restart-to-apply.tsx";
import { Button } from "../components/ui/button.tsx";
import { ErrorText } from "../components/ui/field.tsx";
import {
  Card,
  CardHeader,
  EmptyState,
  PendingBlock,
  phoneHidden,
  Table,
  TableHead,
  td,
} from "../components/ui/misc.tsx";
import { errorMessage } from "../lib/errors.ts";
import { formatFull } from "../lib/format.ts";
import { useTRPC } from "../lib/trpc.ts";
import { projectRoute, useProjectInput } from "./project.tsx";

export const projectMachinesRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "machines",
});

export const projectMachinesIndexRoute = createRoute({
  getParentRoute: () => projectMachinesRoute,
  path: "/",
  loader: ({ context, params }) => {
    // Start the fetch early; the page renders its own pending state.
    void context.queryClient.prefetchInfiniteQuery(
      context.trpc.machine.list.infiniteQueryOptions(
        { organizationSlug: params.org, projectSlug: params.project, includeArchived: false, limit: PAGE_SIZE },
        { getNextPageParam: nextPageOf },
      ),
    );
  },
  component: ProjectMachinesPage,
});

/** Machines per page of the list. */
const PAGE_SIZE = 50;
const nextPageOf = (page: { nextCursor: string | null }) => page.nextCursor ?? undefined;

function ProjectMachinesPage() {
  const trpc = useTRPC();
  const input = useProjectInput();
  const [showArchived, setShowArchived] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const list = useInfiniteQuery({
    ...trpc.machine.list.infiniteQueryOptions(
      { ...input, includeArchived: showArchived, limit: PAGE_SIZE },
      { getNextPageParam: nextPageOf },
    ),
    refetchInterval: (query) =>
      query.state.data?.pages.some((page) => page.machines.some((machine) => isTransitional(machine.observedState)))
        ? 2_000
        : false,
  });
  // How many there are in all, and whether an empty list hides archived ones.
  const counts = useQuery(trpc.machine.counts.queryOptions(input));
  const shown = list.data?.pages.flatMap((page) => page.machines);
  const archivedCount = counts.data?.archived ?? 0;
  const total = counts.data ? counts.data.active + (showArchived ? counts.data.archived : 0) : undefined;

  return (
    <Card>
      <CardHeader
        title="Machines"
        description="Sandboxes where agents work on this project's code. They start with the project's env vars."
        actions={
          <>
            <label className="flex h-9 cursor-pointer items-center gap-2 rounded-md px-2 text-sm text-zinc-700 select-none hover:bg-zinc-50">
              <input
                type="checkbox"
                checked={showArchived}
                onChange={(event) => setShowArchived(event.target.checked)}
                className="size-4 rounded accent-accent-600"
              />
              Show archived
            </label>
            <CreateMachineDialog />
          </>
        }
      />
      {actionError ? (
        <div className="flex items-start justify-between gap-3 border-b border-red-100 bg-red-50/60 px-4 py-2.5 sm:px-5">
          <ErrorText>{actionError}</ErrorText>
          <button
            type="button"
            className="shrink-0 rounded text-sm text-red-700 hover:underline"
            onClick={() => setActionError(null)}
          >
            Dismiss
          </button>
        </div>
      ) : null}
      {list.isPending ? <PendingBlock /> : null}
      {list.error ? <ErrorText className="px-5 py-4">{errorMessage(list.error)}</ErrorText> : null}
      {shown?.length === 0 && archivedCount === 0 ? (
        <EmptyState title="No machines yet" action={<CreateMachineDialog triggerLabel="Create your first machine" />}>
          A machine is a sandbox with a terminal, agents and logs, on this host&apos;s Docker or in a Daytona sandbox.
          It starts with the project&apos;s environment variables.
        </EmptyState>
      ) : null}
      {shown?.length === 0 && archivedCount > 0 && !showArchived ? (
        <EmptyState
          title={`No active machines; ${archivedCount} archived`}
          action={
            <Button variant="secondary" onClick={() => setShowArchived(true)}>
              Show archived
            </Button>
          }
        >
          Archived machines are stopped and hidden here. Show them to restore one, or create a new machine.
        </EmptyState>
      ) : null}
      {shown && shown.length > 0 ? <MachineTable machines={shown} onActionError={setActionError} /> : null}
      {shown && list.hasNextPage ? (
        <div className="flex items-center justify-between gap-3 border-t border-zinc-100 px-4 py-3 text-sm text-zinc-600 sm:px-5">
          <span>
            Showing {shown.length}
            {total === undefined ? "" : ` of ${total}`}
          </span>
          <Button
            variant="secondary"
            size="sm"
            pending={list.isFetchingNextPage}
            onClick={() => void list.fetchNextPage()}
          >
            {/* The next page's size when the total says how many are left. */}
            Show {total === undefined ? PAGE_SIZE : Math.max(1, Math.min(PAGE_SIZE, total - shown.length))} more
          </Button>
        </div>
      ) : null}
    </Card>
  );
}

function MachineTable({
  machines,
  onActionError,
}: {
  machines: MachineRow[];
  onActionError: (message: string | null) => void;
}) {
  const input = useProjectInput();
  useTick();
  // Live usage only for running machines whose rows are on screen, from one subscription for all of them.
  const onScreen = useOnScreen();
  const usage = useMachinesUsage(
    machines
      .filter((machine) => machine.observedState === "running" && onScreen.visible.has(machine.id))
      .map((machine) => machine.id),
  );
  return (
    <Table label="Machines" fitsPhone>
      <TableHead
        columns={[
          "Name",
          "Status",
          { label: "Usage", hideOnPhone: true },
          { label: "Type", hideOnPhone: true },
          { label: "Age", hideOnPhone: true },
          { label: "Actions", srOnly: true },
        ]}
      />
      <tbody className="divide-y divide-zinc-100">
        {machines.map((machine) => (
          <tr
            key={machine.id}
            ref={onScreen.ref(machine.id)}
            data-machine-id={machine.id}
            className={machine.desiredState === "archived" ? "bg-zinc-50/50 text-zinc-500" : undefined}
          >
            <td className={`${td} min-w-0`}>
              <Link
                to="/orgs/$org/projects/$project/machines/$machineId"
                params={{ org: input.organizationSlug, project: input.projectSlug, machineId: machine.id }}
                className="rounded font-mono text-[13px] font-medium break-all text-zinc-900 hover:text-accent-700 hover:underline"
              >
                {machine.name}
              </Link>
              {machine.observedState === "error" && machine.lastError ? (
                <p className="mt-0.5 line-clamp-2 max-w-md text-xs text-red-700" title={machine.lastError}>
                  {machine.lastError}
                </p>
              ) : null}
            </td>
            <td className={td}>
              <span className="flex flex-wrap items-center gap-1.5">
                <MachineStatusBadge state={machine.observedState} />
                {machine.envPendingRestart ? <RestartToApplyBadge /> : null}
              </span>
            </td>
            <td className={`${td} ${phoneHidden}`}>
              <UsageCell sample={usage.get(machine.id)} running={machine.observedState === "running"} />
            </td>
            <td className={`${td} ${phoneHidden} whitespace-nowrap text-zinc-600`} title={machine.type}>
              {TYPE_LABELS[machine.type]}
            </td>
            <td
              className={`${td} ${phoneHidden} whitespace-nowrap text-zinc-600`}
              title={formatFull(machine.createdAt)}
            >
              {formatPast(machine.createdAt)}
            </td>
            <td className={`${td} w-12 text-right`}>
              <MachineActionsMenu machine={machine} onError={onActionError} />
            </td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}
