/**
 * `/orgs/$org/projects/$project/machines/$machineId`: one machine. The header has its name, live status, type
 * and lifecycle actions; below it its facts (ready, image or snapshot, limits) and the Connect panel (CLI, SDK
 * and HTTP snippets for this machine, its ports with preview links), then tabs: terminal, agents, logs,
 * timeline and environment. The tab is in the URL
 * (`?tab=agents`), so it survives reloads and can be linked. The terminal stays mounted once opened, so
 * switching tabs does not drop its connection.
 */
import { useQuery } from "@tanstack/react-query";
import { createRoute, Link, useNavigate } from "@tanstack/react-router";
import { lazy, type ReactNode, Suspense, useEffect, useState } from "react";

import { MachineActionButtons } from "../components/machines/machine-actions.tsx";
import { MachineAgents } from "../components/machines/machine-agents.tsx";
import { MachineConnect } from "../components/machines/machine-connect.tsx";
import { MachineEnv } from "../components/machines/machine-env.tsx";
import { formatLimits } from "../components/machines/machine-limits.ts";
import { MachineLogs } from "../components/machines/machine-logs.tsx";
import { MachineStatusBadge } from "../components/machines/machine-status.tsx";
import { formatDuration, MachineTimeline } from "../components/machines/machine-timeline.tsx";
import {
  isTransitional,
  type MachineDetail,
  needsRecreate,
  TYPE_LABELS,
} from "../components/machines/machine-types.ts";
import { MachineUsage } from "../components/machines/machine-usage.tsx";
import { formatPast, useTick } from "../components/machines/relative-time.ts";
import { RestartToApply } from "../components/machines/restart-to-apply.tsx";
import { TERMINAL_HEIGHT } from "../components/machines/terminal-size.ts";
import { tabLinkClass, TabNav } from "../components/tab-nav.tsx";
import { buttonClasses } from "../components/ui/button.tsx";
import { ErrorText } from "../components/ui/field.tsx";
import { Card, EmptyState, PendingBlock } from "../components/ui/misc.tsx";
import { errorMessage, trpcErrorCode } from "../lib/errors.ts";
import { formatFull } from "../lib/format.ts";
import { orNotFound } from "../lib/not-found.ts";
import { useTRPC } from "../lib/trpc.ts";
import { useProjectInput } from "./project.tsx";
import { projectMachinesRoute } from "./project-machines.tsx";
import { NotFoundPage } from "./root.tsx";

// xterm.js is the heaviest dependency of the SPA: load it only when a terminal is shown.
const MachineTerminal = lazy(() => import("../components/machines/machine-terminal.tsx"));

const MACHINE_TABS = ["terminal", "agents", "logs", "timeline", "env"] as const;
type MachineTab = (typeof MACHINE_TABS)[number];
const TAB_LABELS: Record<MachineTab, string> = {
  terminal: "Terminal",
  agents: "Agents",
  logs: "Logs",
  timeline: "Timeline",
  env: "Environment",
};

export const machinePageRoute = createRoute({
  getParentRoute: () => projectMachinesRoute,
  path: "$machineId",
  // The terminal is the default tab and has no search param, so plain links to the page stay clean.
  validateSearch: (search: Record<string, unknown>): { tab?: Exclude<MachineTab, "terminal"> } => {
    const tab = MACHINE_TABS.find((known) => known === search.tab);
    return tab && tab !== "terminal" ? { tab } : {};
  },
  loader: ({ context, params }) =>
    orNotFound(
      context.queryClient.ensureQueryData(
        context.trpc.machine.byId.queryOptions({
          organizationSlug: params.org,
          projectSlug: params.project,
          machineId: params.machineId,
        }),
      ),
    ),
  component: MachinePage,
  notFoundComponent: () => <NotFoundPage what="machine" />,
});

function MachinePage() {
  const trpc = useTRPC();
  const input = useProjectInput();
  const navigate = useNavigate();
  const { machineId } = machinePageRoute.useParams();
  const tab: MachineTab = machinePageRoute.useSearch().tab ?? "terminal";
  const machine = useQuery({
    ...trpc.machine.byId.queryOptions({ ...input, machineId }),
    // The realtime socket pushes every transition; polling is the fallback while the machine is in motion.
    refetchInterval: (query) => (isTransitional(query.state.data?.observedState) ? 2_000 : false),
  });
  const backToTable = () =>
    void navigate({
      to: "/orgs/$org/projects/$project/machines",
      params: { org: input.organizationSlug, project: input.projectSlug },
    });

  if (machine.data) return <MachineView machine={machine.data} tab={tab} onDeleted={backToTable} />;
  if (machine.isPending) return <PendingBlock />;
  return (
    <Card>
      <EmptyState
        title={
          trpcErrorCode(machine.error) === "NOT_FOUND" ? "This machine no longer exists" : "Could not load this machine"
        }
        action={
          <Link
            to="/orgs/$org/projects/$project/machines"
            params={{ org: input.organizationSlug, project: input.projectSlug }}
            className={buttonClasses("secondary")}
          >
            Back to machines
          </Link>
        }
      >
        {trpcErrorCode(machine.error) === "NOT_FOUND"
          ? "It was deleted, perhaps in another tab."
          : errorMessage(machine.error)}
      </EmptyState>
    </Card>
  );
}

function MachineView({ machine, tab, onDeleted }: { machine: MachineDetail; tab: MachineTab; onDeleted: () => void }) {
  const trpc = useTRPC();
  const input = useProjectInput();
  const preview = useQuery(trpc.machine.getPreviewInfo.queryOptions({ ...input, machineId: machine.id }));
  const running = machine.observedState === "running";
  const proxyPath = preview.data?.proxyPath ?? null;
  // Keep the terminal (and its socket) alive once it has been shown.
  const [terminalOpened, setTerminalOpened] = useState(tab === "terminal");
  useEffect(() => {
    if (tab === "terminal") setTerminalOpened(true);
  }, [tab]);
  const linkParams = { org: input.organizationSlug, project: input.projectSlug, machineId: machine.id };

  return (
    <div className="space-y-5">
      <MachineHeader machine={machine} onDeleted={onDeleted} />
      {machine.observedState === "error" ? <ErrorCallout machine={machine} /> : null}
      {machine.envPendingRestart && tab !== "env" ? <RestartToApply machine={machine} /> : null}
      <MachineFacts machine={machine} snapshotName={preview.data?.snapshotName ?? null} />
      {preview.error ? <ErrorText>{errorMessage(preview.error)}</ErrorText> : null}
      <MachineConnect machineId={machine.id} machineName={machine.name} running={running} />
      <MachineUsage machineId={machine.id} running={running} />

      <div className="space-y-4">
        <TabNav label="Machine">
          {MACHINE_TABS.map((name) => (
            <Link
              key={name}
              to="/orgs/$org/projects/$project/machines/$machineId"
              params={linkParams}
              search={name === "terminal" ? {} : { tab: name }}
              activeOptions={{ exact: true, includeSearch: true }}
              className={tabLinkClass}
              // The URL changes but the page is the same: keep the reader's scroll position.
              resetScroll={false}
            >
              {TAB_LABELS[name]}
            </Link>
          ))}
        </TabNav>

        {terminalOpened && proxyPath ? (
          <div hidden={tab !== "terminal"}>
            <Suspense fallback={<div className={`${TERMINAL_HEIGHT} rounded-xl bg-zinc-950`} />}>
              <MachineTerminal proxyPath={proxyPath} enabled={running} idleMessage={idleMessage(machine)} />
            </Suspense>
            <p className="mt-2 text-xs text-zinc-500">
              A shell in the tmux session <span className="font-mono">main</span>. It keeps running when you leave;
              reconnecting re-attaches to it.
            </p>
          </div>
        ) : null}
        {tab === "agents" ? (
          running && proxyPath ? (
            <MachineAgents machineId={machine.id} proxyPath={proxyPath} />
          ) : (
            <NeedsRunning machine={machine} what="manage its agents" />
          )
        ) : null}
        {tab === "logs" && proxyPath ? (
          <MachineLogs machineId={machine.id} proxyPath={proxyPath} daemonReachable={running} />
        ) : null}
        {tab === "timeline" ? <MachineTimeline machineId={machine.id} /> : null}
        {tab === "env" ? <MachineEnv machine={machine} /> : null}
      </div>
    </div>
  );
}

function idleMessage(machine: MachineDetail): string {
  switch (machine.observedState) {
    case "creating":
    case "starting":
      return "Waiting for the machine to be running…";
    case "stopping":
    case "stopped":
      return "The machine is stopped. Start it to open a terminal.";
    case "archived":
      return "The machine is archived. Restore it to open a terminal.";
    case "error":
      return "The machine is in error. See the message above.";
    case "deleting":
      return "The machine is being deleted.";
    case "running":
      return "";
  }
}

function NeedsRunning({ machine, what }: { machine: MachineDetail; what: string }) {
  return (
    <Card>
      <EmptyState title={`The machine is ${machine.observedState}`}>
        {isTransitional(machine.observedState)
          ? `Once it is running you can ${what} here.`
          : machine.observedState === "archived"
            ? `Restore it to ${what}.`
            : machine.observedState === "error"
              ? `Start or recreate it (see above) to ${what}.`
              : `Start it to ${what}.`}
      </EmptyState>
    </Card>
  );
}

function MachineHeader({ machine, onDeleted }: { machine: MachineDetail; onDeleted: () => void }) {
  const input = useProjectInput();
  useTick();
  return (
    <div className="flex flex-col gap-4 sm:flex-row sm:items-start sm:justify-between">
      <div className="min-w-0">
        <div className="flex flex-wrap items-center gap-x-2 gap-y-1.5">
          <Link
            to="/orgs/$org/projects/$project/machines"
            params={{ org: input.organizationSlug, project: input.projectSlug }}
            className="rounded text-lg text-zinc-500 hover:text-zinc-800"
          >
            Machines
          </Link>
          <span aria-hidden="true" className="text-lg text-zinc-300">
            /
          </span>
          <h2 className="mr-1 font-mono text-lg font-semibold break-all text-zinc-900">{machine.name}</h2>
          <MachineStatusBadge state={machine.observedState} />
        </div>
        <p className="mt-1 flex flex-wrap gap-x-2 text-sm text-zinc-500">
          <span>{TYPE_LABELS[machine.type]}</span>
          <span aria-hidden="true">·</span>
          <span title={formatFull(machine.createdAt)}>created {formatPast(machine.createdAt)}</span>
          <span aria-hidden="true">·</span>
          <span className="font-mono text-xs leading-5">{machine.id}</span>
        </p>
      </div>
      <MachineActionButtons machine={machine} onDeleted={onDeleted} />
    </div>
  );
}

function ErrorCallout({ machine }: { machine: MachineDetail }) {
  return (
    <div role="alert" className="rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800">
      <p className="font-medium">
        {needsRecreate(machine) ? "The machine's container is gone" : "The machine is in error"}
      </p>
      <p className="mt-1 break-words">{machine.lastError ?? "No details were recorded."}</p>
      <p className="mt-2 text-red-700">
        {needsRecreate(machine)
          ? "Recreate makes a new container with the same name and env; its workspace starts empty. Or delete the machine."
          : "Try starting it again, recreate it from the newest image, or delete it."}
      </p>
    </div>
  );
}

/** When it became ready and how long it took, what it runs from, and its limits. */
function MachineFacts({ machine, snapshotName }: { machine: MachineDetail; snapshotName: string | null }) {
  const trpc = useTRPC();
  const input = useProjectInput();
  const events = useQuery(trpc.machine.events.queryOptions({ ...input, machineId: machine.id }));
  const running = machine.observedState === "running";
  const readyEvent = events.data?.findLast((event) => event.toState === "running" && event.durationMs !== null);
  useTick();
  return (
    <Card>
      <dl className="grid gap-x-12 gap-y-3 px-4 py-3 text-sm sm:grid-cols-2 sm:px-5 lg:flex lg:flex-wrap">
        {machine.type === "daytona" ? (
          <Detail label="Snapshot">
            <span className="block truncate font-mono text-[13px] leading-8" title={snapshotName ?? undefined}>
              {snapshotName ?? "—"}
            </span>
          </Detail>
        ) : null}
        <Detail label="Ready">
          <span className="block truncate leading-8">
            {machine.readyAt && running ? (
              <>
                <span title={formatFull(machine.readyAt)}>{formatPast(machine.readyAt)}</span>
                {readyEvent?.durationMs != null ? (
                  <span className="text-zinc-500"> · booted in {formatDuration(readyEvent.durationMs)}</span>
                ) : null}
              </>
            ) : (
              <span className="text-zinc-500">{isTransitional(machine.observedState) ? "not yet" : "not running"}</span>
            )}
          </span>
        </Detail>
        {machine.type === "local-docker" ? (
          <Detail label="Image">
            <span
              className="block truncate font-mono text-[13px] leading-8"
              title={metadataString(machine, "containerName") ?? undefined}
            >
              {metadataString(machine, "imageName") ?? "—"}
            </span>
          </Detail>
        ) : (
          <Detail label="Sandbox">
            <span className="block truncate font-mono text-[13px] leading-8">{machine.externalId ?? "—"}</span>
          </Detail>
        )}
        {machine.cpuMillis !== null && machine.memoryMb !== null && machine.pids !== null ? (
          <Detail label="Limits">
            <span
              className="block truncate leading-8"
              data-testid="machine-limits"
              title={`User os2, ${machine.profile ?? "standard"} profile${machine.profile === "strict" ? " (no sudo)" : " (sudo)"}`}
            >
              {formatLimits({
                cpuMillis: machine.cpuMillis,
                memoryMb: machine.memoryMb,
                pids: machine.pids,
                diskMb: machine.diskMb,
              })}
              <span className="text-zinc-500"> · {machine.profile ?? "standard"}</span>
            </span>
          </Detail>
        ) : null}
      </dl>
    </Card>
  );
}

/** Provider metadata is free-form JSON; read a string field without trusting its shape. */
function metadataString(machine: MachineDetail, key: string): string | null {
  const value = machine.metadata[key];
  return typeof value === "string" && value ? value : null;
}

function Detail({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs font-medium tracking-wide text-zinc-500 uppercase">{label}</dt>
      <dd className="mt-0.5 text-zinc-900">{children}</dd>
    </div>
  );
}
