/**
 * Live usage: the machine page's Usage card (CPU, memory, processes and disk, each against its limit) and
 * the machines table's compact figure. Both read tRPC subscriptions (server-sent events) that run only
 * while the machine runs and the component is on screen; the server shares one stats stream per machine
 * among everyone watching it and closes it shortly after the last one leaves.
 *
 * CPU is the share of the machine's CPU limit in use (100% = all of it), with the cores busy beside it.
 */
import { skipToken } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useSubscription } from "@trpc/tanstack-react-query";
import clsx from "clsx";
import { useCallback, useEffect, useMemo, useState } from "react";

import type { AppRouter } from "../../../../backend/trpc/app-router.ts";
import { errorMessage } from "../../lib/errors.ts";
import { useTRPC } from "../../lib/trpc.ts";
import { useProjectInput } from "../../routes/project.tsx";
import { ErrorText } from "../ui/field.tsx";
import { Card, CardHeader } from "../ui/misc.tsx";

export type UsageSample = inferRouterOutputs<AppRouter>["machine"]["usage"] extends AsyncIterable<infer T> ? T : never;

const KIB = 1024;

export function formatBytes(bytes: number): string {
  if (bytes < KIB) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / KIB;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 || Number.isInteger(value) ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

function formatCores(cores: number): string {
  return `${cores < 10 ? cores.toFixed(2) : cores.toFixed(1)} core${cores === 1 ? "" : "s"}`;
}

function formatPercent(percent: number): string {
  return `${percent < 10 ? percent.toFixed(1) : Math.round(percent)}%`;
}

function share(value: number | null, limit: number | null): number | null {
  if (value === null || !limit) return null;
  return Math.min(100, Math.max(0, (value / limit) * 100));
}

/** A bar that turns amber from 75% and red from 90% of the limit. */
function Bar({ percent, label }: { percent: number | null; label: string }) {
  const value = percent ?? 0;
  return (
    <div
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(value)}
      className="h-2 w-full overflow-hidden rounded-full bg-zinc-100"
    >
      <div
        className={clsx(
          "h-full rounded-full transition-[width] duration-500",
          percent === null
            ? "bg-zinc-200"
            : value >= 90
              ? "bg-red-500"
              : value >= 75
                ? "bg-amber-500"
                : "bg-accent-600",
        )}
        style={{ width: `${percent === null ? 0 : Math.max(value, 1)}%` }}
      />
    </div>
  );
}

function UsageRow({
  name,
  testId,
  value,
  detail,
  percent,
}: {
  name: string;
  testId: string;
  value: string;
  detail: string;
  percent: number | null;
}) {
  return (
    <div className="space-y-1.5" data-testid={testId}>
      <div className="flex items-baseline justify-between gap-3 text-sm">
        <span className="font-medium text-zinc-700">{name}</span>
        <span className="min-w-0 truncate text-right text-zinc-600 tabular-nums">
          <span className="font-medium text-zinc-900" data-testid={`${testId}-value`}>
            {value}
          </span>{" "}
          <span data-testid={`${testId}-detail`}>{detail}</span>
        </span>
      </div>
      <Bar percent={percent} label={`${name} against its limit`} />
    </div>
  );
}

/** The four figures of a sample, as text and bar percentages. */
export function describeUsage(sample: UsageSample | undefined) {
  const cpu = {
    value: sample?.cpuPercent != null ? formatPercent(sample.cpuPercent) : "—",
    detail:
      sample?.cpuCores != null
        ? `${formatCores(sample.cpuCores)}${sample.cpuLimitCores ? ` of ${formatCores(sample.cpuLimitCores)}` : ""}`
        : sample?.cpuLimitCores
          ? `of ${formatCores(sample.cpuLimitCores)}`
          : "",
    percent: sample?.cpuPercent ?? null,
  };
  const memory = {
    value: sample?.memoryBytes != null ? formatBytes(sample.memoryBytes) : "—",
    detail: sample?.memoryLimitBytes ? `of ${formatBytes(sample.memoryLimitBytes)}` : "",
    percent: share(sample?.memoryBytes ?? null, sample?.memoryLimitBytes ?? null),
  };
  const pids = {
    value: sample?.pids != null ? String(sample.pids) : "—",
    detail: sample?.pidsLimit ? `of ${sample.pidsLimit}` : sample && sample.pids === null ? "not reported" : "",
    percent: share(sample?.pids ?? null, sample?.pidsLimit ?? null),
  };
  const disk = {
    value: sample?.diskBytes != null ? formatBytes(sample.diskBytes) : "—",
    detail: sample?.diskLimitBytes
      ? `of ${formatBytes(sample.diskLimitBytes)}`
      : sample?.diskBytes != null
        ? "written (no quota)"
        : "",
    percent: share(sample?.diskBytes ?? null, sample?.diskLimitBytes ?? null),
  };
  return { cpu, memory, pids, disk };
}

export function MachineUsage({ machineId, running }: { machineId: string; running: boolean }) {
  const trpc = useTRPC();
  const input = useProjectInput();
  const subscription = useSubscription(
    trpc.machine.usage.subscriptionOptions(running ? { ...input, machineId } : skipToken),
  );
  const sample = running ? subscription.data : undefined;
  const figures = describeUsage(sample);

  return (
    <Card>
      <CardHeader
        title="Usage"
        description="Live, about once a second: CPU as a share of the machine's CPU limit, memory, processes and disk against theirs."
      />
      <div className="grid gap-x-8 gap-y-4 px-4 py-4 sm:grid-cols-2 sm:px-5" data-testid="machine-usage">
        <UsageRow name="CPU" testId="usage-cpu" {...figures.cpu} />
        <UsageRow name="Memory" testId="usage-memory" {...figures.memory} />
        <UsageRow name="Processes" testId="usage-pids" {...figures.pids} />
        <UsageRow name="Disk" testId="usage-disk" {...figures.disk} />
      </div>
      {!running ? (
        <p className="border-t border-zinc-100 px-4 py-2.5 text-sm text-zinc-500 sm:px-5">
          Shown while the machine runs.
        </p>
      ) : subscription.error ? (
        <ErrorText className="border-t border-zinc-100 px-4 py-2.5 sm:px-5">
          {errorMessage(subscription.error)}
        </ErrorText>
      ) : !sample ? (
        <p className="border-t border-zinc-100 px-4 py-2.5 text-sm text-zinc-500 sm:px-5">
          Waiting for the first reading…
        </p>
      ) : null}
    </Card>
  );
}

/**
 * The newest sample of each of `machineIds` (the machines table's running rows), from one subscription for
 * all of them. It follows the id list: a row that stops or scrolls away drops out at the next change.
 */
export function useMachinesUsage(machineIds: string[]): Map<string, UsageSample> {
  const trpc = useTRPC();
  const input = useProjectInput();
  const ids = useMemo(() => [...new Set(machineIds)].sort(), [machineIds]);
  const key = ids.join(",");
  const [samples, setSamples] = useState<{ key: string; byId: Map<string, UsageSample> }>({ key, byId: new Map() });
  useSubscription(
    trpc.machine.usageMany.subscriptionOptions(ids.length > 0 ? { ...input, machineIds: ids } : skipToken, {
      onData: (event) =>
        setSamples((current) => {
          const byId = new Map(current.key === key ? current.byId : []);
          byId.set(event.machineId, event.sample);
          return { key, byId };
        }),
    }),
  );
  return samples.key === key ? samples.byId : new Map<string, UsageSample>();
}

/** The table's compact figure: CPU and memory of a running machine, each with a thin bar. */
export function UsageCell({ sample, running }: { sample: UsageSample | undefined; running: boolean }) {
  if (!running) return <span className="text-zinc-400">—</span>;
  if (!sample) return <span className="text-xs text-zinc-400">reading…</span>;
  const { cpu, memory } = describeUsage(sample);
  return (
    <div className="w-32 space-y-1 text-xs text-zinc-600 tabular-nums" data-testid="usage-compact">
      <div className="flex items-center gap-2" title={`CPU: ${cpu.value} of its limit (${cpu.detail})`}>
        <span className="w-9 shrink-0 text-zinc-500">CPU</span>
        <span className="w-10 shrink-0 text-right font-medium text-zinc-800" data-testid="usage-compact-cpu">
          {cpu.value}
        </span>
        <Bar percent={cpu.percent} label="CPU against its limit" />
      </div>
      <div className="flex items-center gap-2" title={`Memory: ${memory.value} ${memory.detail}`}>
        <span className="w-9 shrink-0 text-zinc-500">Mem</span>
        <span className="w-10 shrink-0 text-right font-medium text-zinc-800" data-testid="usage-compact-memory">
          {memory.percent === null ? memory.value : formatPercent(memory.percent)}
        </span>
        <Bar percent={memory.percent} label="Memory against its limit" />
      </div>
    </div>
  );
}

/**
 * Which of a list's rows are on screen: `ref(id)` goes on each row; the set holds the ids of rows at least
 * partly in the viewport. One IntersectionObserver serves the whole list.
 */
export function useOnScreen(): {
  visible: ReadonlySet<string>;
  ref: (id: string) => (element: Element | null) => void;
} {
  const [visible, setVisible] = useState<ReadonlySet<string>>(new Set());
  const [observer] = useState(() =>
    typeof IntersectionObserver === "undefined"
      ? null
      : new IntersectionObserver((entries) =>
          setVisible((current) => {
            const next = new Set(current);
            for (const entry of entries) {
              const id = (entry.target as HTMLElement).dataset.usageId;
              if (!id) continue;
              if (entry.isIntersecting) next.add(id);
              else next.delete(id);
            }
            return next;
          }),
        ),
  );
  useEffect(() => () => observer?.disconnect(), [observer]);
  const ref = useCallback(
    (id: string) => (element: Element | null) => {
      if (!element || !observer) return;
      (element as HTMLElement).dataset.usageId = id;
      observer.observe(element);
    },
    [observer],
  );
  return { visible, ref };
}
