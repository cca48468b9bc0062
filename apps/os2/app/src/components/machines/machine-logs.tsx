/**
 * Logs: the container's stdout/stderr (`machine.followLogs`, server-sent events from the provider's log
 * stream; `machine.logs` for a one-off read) and each s6 service's log inside the machine (the daemon's
 * `/api/logs/:service?follow=1` NDJSON stream, through the proxy). Both follow by default, can be paused,
 * searched and downloaded, and show a larger tail on demand.
 */
import type { LogsStreamEvent } from "@os2/protocol";
import { skipToken, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { type ReactNode, useCallback, useEffect, useId, useRef, useState } from "react";

import { errorMessage } from "../../lib/errors.ts";
import { useTRPC } from "../../lib/trpc.ts";
import { useProjectInput } from "../../routes/project.tsx";
import { Button } from "../ui/button.tsx";
import { ErrorText } from "../ui/field.tsx";
import { Card, CardBody, CardHeader } from "../ui/misc.tsx";
import { daemon, daemonKeys } from "./daemon-client.ts";
import { SearchableLog } from "./log-view.tsx";
import { retryDaemon } from "./machine-agents.tsx";
import { followServiceLog } from "./service-log-stream.ts";

/** The tails one can ask for; a followed log keeps growing past its tail up to MAX_LINES. */
const TAILS = [300, 1000, 5000] as const;
const MAX_LINES = 10_000;
/** After a followed service log ended or failed (e.g. the daemon restarted), try again after this long. */
const RECONNECT_MS = 2_000;

export function MachineLogs({
  machineId,
  proxyPath,
  daemonReachable,
}: {
  machineId: string;
  proxyPath: string;
  daemonReachable: boolean;
}) {
  return (
    <div className="space-y-6">
      <ContainerLogs machineId={machineId} running={daemonReachable} />
      {daemonReachable ? (
        <ServiceLogs machineId={machineId} proxyPath={proxyPath} />
      ) : (
        <Card>
          <CardHeader title="Service logs" description="Start the machine to read the logs of its services." />
        </Card>
      )}
    </div>
  );
}

/** Lines held for a log view: a reset replaces them, appends keep the newest MAX_LINES. */
function useLineBuffer() {
  const [lines, setLines] = useState<string[]>([]);
  const reset = useCallback((next: string[]) => setLines(next.slice(-MAX_LINES)), []);
  const append = useCallback(
    (more: string[]) =>
      setLines((previous) => {
        if (more.length === 0) return previous;
        const next = previous.concat(more);
        return next.length > MAX_LINES ? next.slice(-MAX_LINES) : next;
      }),
    [],
  );
  return { lines, reset, append };
}

/** The Follow switch and the tail picker, shared by both log cards. */
function LogControls({
  what,
  follow,
  onFollowChange,
  tail,
  onTailChange,
  onRefresh,
  refreshing,
  disabled,
  extra,
}: {
  what: string;
  follow: boolean;
  onFollowChange: (follow: boolean) => void;
  tail: number;
  onTailChange: (tail: number) => void;
  onRefresh: () => void;
  refreshing: boolean;
  disabled?: boolean;
  extra?: ReactNode;
}) {
  const followId = useId();
  const tailId = useId();
  return (
    <div className="flex flex-wrap items-center gap-2">
      {extra}
      <label htmlFor={tailId} className="sr-only">
        Lines of {what} to load
      </label>
      <select
        id={tailId}
        className="h-8 rounded-md border border-zinc-300 bg-white px-2 text-xs text-zinc-900 shadow-sm disabled:bg-zinc-100"
        value={tail}
        disabled={disabled}
        onChange={(event) => onTailChange(Number(event.target.value))}
      >
        {TAILS.map((lines) => (
          <option key={lines} value={lines}>
            Last {lines.toLocaleString("en")} lines
          </option>
        ))}
      </select>
      <label
        htmlFor={followId}
        className="inline-flex h-8 cursor-pointer items-center gap-2 rounded-md border border-zinc-300 bg-white px-2.5 text-xs font-medium text-zinc-800 shadow-sm has-disabled:cursor-default has-disabled:bg-zinc-100"
      >
        <input
          id={followId}
          type="checkbox"
          role="switch"
          className="accent-accent-600 size-3.5"
          checked={follow}
          disabled={disabled}
          onChange={(event) => onFollowChange(event.target.checked)}
        />
        Follow<span className="sr-only"> {what}</span>
      </label>
      {!follow ? (
        <Button size="sm" variant="secondary" pending={refreshing} disabled={disabled} onClick={onRefresh}>
          Refresh
        </Button>
      ) : null}
    </div>
  );
}

function LiveDot() {
  return <span aria-hidden className="mr-1.5 inline-block size-2 animate-pulse rounded-full bg-emerald-500" />;
}

function ContainerLogs({ machineId, running }: { machineId: string; running: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = useProjectInput();
  const [follow, setFollow] = useState(true);
  const [tail, setTail] = useState<number>(TAILS[0]);
  const [ended, setEnded] = useState(false);
  const [refreshing, setRefreshing] = useState(false);
  const [readError, setReadError] = useState<string | null>(null);
  const [unsupported, setUnsupported] = useState<string | null>(null);
  const [pausedAt, setPausedAt] = useState<Date | null>(null);
  const buffer = useLineBuffer();

  const subscription = useSubscription(
    trpc.machine.followLogs.subscriptionOptions(follow ? { ...input, machineId, tail } : skipToken, {
      onData: (event) => {
        if (event.kind === "reset") {
          setEnded(false);
          buffer.reset(event.lines);
        } else if (event.kind === "append") buffer.append(event.lines);
        else setEnded(true);
      },
      onError: (error) => {
        if (error.data?.code === "PRECONDITION_FAILED") setUnsupported(error.message);
      },
    }),
  );

  // The container started again: follow it anew (Docker's stream ended when it stopped).
  const wasRunning = useRef(running);
  useEffect(() => {
    if (running && !wasRunning.current && follow) subscription.reset();
    wasRunning.current = running;
  }, [running, follow, subscription]);

  const read = async (lines: number) => {
    setRefreshing(true);
    setReadError(null);
    try {
      const result = await queryClient.fetchQuery({
        ...trpc.machine.logs.queryOptions({ ...input, machineId, tail: lines }),
        staleTime: 0,
      });
      if (!result.supported) setUnsupported("This machine's provider keeps no container output.");
      buffer.reset(result.container.split("\n").filter((line, index, all) => line || index < all.length - 1));
      setPausedAt(new Date());
    } catch (error) {
      setReadError(errorMessage(error));
    } finally {
      setRefreshing(false);
    }
  };

  let status: ReactNode;
  if (unsupported) status = unsupported;
  else if (!follow) status = pausedAt ? `Paused: as of ${pausedAt.toLocaleTimeString()}.` : "Paused.";
  else if (subscription.status === "error") status = null;
  else if (ended)
    status = running
      ? "The container's log stream ended."
      : "The machine is not running: these are its last lines. Following resumes when it starts.";
  else if (subscription.status === "pending")
    status = (
      <>
        <LiveDot />
        Following: new lines appear as the machine writes them.
      </>
    );
  else status = "Connecting…";

  return (
    <Card>
      <CardHeader
        title="Container logs"
        description="What the machine writes to stdout and stderr."
        actions={
          <LogControls
            what="container logs"
            follow={follow}
            onFollowChange={(next) => {
              setFollow(next);
              if (!next) setPausedAt(new Date());
            }}
            tail={tail}
            onTailChange={(next) => {
              setTail(next);
              if (!follow) void read(next);
            }}
            onRefresh={() => void read(tail)}
            refreshing={refreshing}
            disabled={unsupported !== null}
          />
        }
      />
      <CardBody>
        {subscription.error && !unsupported ? (
          <ErrorText className="mb-2">{errorMessage(subscription.error)}</ErrorText>
        ) : null}
        {readError ? <ErrorText className="mb-2">{readError}</ErrorText> : null}
        <SearchableLog
          lines={buffer.lines}
          label="Container logs"
          empty={unsupported ? "No container output here." : "No output yet."}
          fileName={`${machineId}-container`}
          status={status}
        />
      </CardBody>
    </Card>
  );
}

type StreamState = { kind: "connecting" } | { kind: "following" } | { kind: "retrying"; reason: string };

/**
 * Follows a service's log while `enabled`: the daemon's first event (the tail) replaces the lines, later
 * ones append. A stream that ends or fails (the daemon restarted) is opened again after RECONNECT_MS.
 */
function useFollowedServiceLog(
  proxyPath: string,
  service: string | null,
  tail: number,
  enabled: boolean,
  onEvent: (event: LogsStreamEvent) => void,
) {
  const [state, setState] = useState<StreamState>({ kind: "connecting" });
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    if (!enabled || !service) return;
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      setState({ kind: "connecting" });
      followServiceLog(
        proxyPath,
        service,
        tail,
        (event) => {
          if (event.type === "tail") setState({ kind: "following" });
          handler.current(event);
        },
        abort.signal,
      ).then(
        () => retry("The log stream ended; reconnecting…"),
        (error: unknown) => retry(`${errorMessage(error)} Reconnecting…`),
      );
    };
    const retry = (reason: string) => {
      if (abort.signal.aborted) return;
      setState({ kind: "retrying", reason });
      timer = setTimeout(connect, RECONNECT_MS);
    };
    connect();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [proxyPath, service, tail, enabled]);
  return state;
}

function ServiceLogs({ machineId, proxyPath }: { machineId: string; proxyPath: string }) {
  const queryClient = useQueryClient();
  const services = useQuery({
    queryKey: daemonKeys.services(machineId),
    queryFn: () => daemon.listServices(proxyPath),
    retry: retryDaemon,
  });
  const [chosen, setChosen] = useState<string | null>(null);
  const service = chosen ?? services.data?.[0] ?? null;
  const [follow, setFollow] = useState(true);
  const [tail, setTail] = useState<number>(TAILS[0]);
  const [refreshing, setRefreshing] = useState(false);
  const [readError, setReadError] = useState<string | null>(null);
  const [pausedAt, setPausedAt] = useState<Date | null>(null);
  const [rotations, setRotations] = useState(0);
  const buffer = useLineBuffer();

  const stream = useFollowedServiceLog(proxyPath, service, tail, follow, (event) => {
    if (event.type === "tail") buffer.reset(event.lines);
    else if (event.type === "lines") buffer.append(event.lines);
    else setRotations((count) => count + 1);
  });

  const read = async (name: string | null, lines: number) => {
    if (!name) return;
    setRefreshing(true);
    setReadError(null);
    try {
      const [result] = await Promise.all([
        queryClient.fetchQuery({
          queryKey: [...daemonKeys.serviceLog(machineId, name), lines],
          queryFn: () => daemon.serviceLog(proxyPath, name, lines),
          staleTime: 0,
          retry: retryDaemon,
        }),
        services.refetch(),
      ]);
      buffer.reset(result);
      setPausedAt(new Date());
    } catch (error) {
      setReadError(errorMessage(error));
    } finally {
      setRefreshing(false);
    }
  };

  const selectId = useId();
  let status: ReactNode;
  if (!service) status = null;
  else if (!follow) status = pausedAt ? `Paused: as of ${pausedAt.toLocaleTimeString()}.` : "Paused.";
  else if (stream.kind === "following")
    status = (
      <>
        <LiveDot />
        Following {service}: new lines appear as s6-log writes them
        {rotations > 0 ? ` (rotated ${rotations === 1 ? "once" : `${rotations} times`} since you opened it)` : ""}.
      </>
    );
  else if (stream.kind === "retrying") status = stream.reason;
  else status = "Connecting…";

  return (
    <Card>
      <CardHeader
        title="Service logs"
        description="What s6 logged for each service inside the machine (the daemon is iterate-server)."
        actions={
          <LogControls
            what="service log"
            follow={follow}
            onFollowChange={(next) => {
              setFollow(next);
              if (!next) setPausedAt(new Date());
            }}
            tail={tail}
            onTailChange={(next) => {
              setTail(next);
              if (!follow) void read(service, next);
            }}
            onRefresh={() => void read(service, tail)}
            refreshing={refreshing || services.isFetching}
            disabled={!service}
            extra={
              <>
                <label className="sr-only" htmlFor={selectId}>
                  Service
                </label>
                <select
                  id={selectId}
                  className="h-8 max-w-48 rounded-md border border-zinc-300 bg-white px-2 font-mono text-xs text-zinc-900 shadow-sm disabled:bg-zinc-100"
                  value={service ?? ""}
                  onChange={(event) => {
                    setChosen(event.target.value);
                    setRotations(0);
                    buffer.reset([]);
                    if (!follow) void read(event.target.value, tail);
                  }}
                  disabled={!services.data?.length}
                >
                  {services.data?.map((name) => (
                    <option key={name} value={name}>
                      {name}
                    </option>
                  ))}
                </select>
              </>
            }
          />
        }
      />
      <CardBody>
        {services.error ? <ErrorText className="mb-2">{errorMessage(services.error)}</ErrorText> : null}
        {readError ? <ErrorText className="mb-2">{readError}</ErrorText> : null}
        <SearchableLog
          lines={buffer.lines}
          label={service ? `Log of ${service}` : "Service log"}
          empty={services.data?.length === 0 ? "No service has a log directory yet." : "No lines yet."}
          fileName={`${machineId}-${service ?? "service"}`}
          status={status}
        />
      </CardBody>
    </Card>
  );
}
