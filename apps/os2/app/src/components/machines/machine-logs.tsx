/**
 * Logs: the container's stdout/stderr (`machine.logs`, from the provider) and each s6 service's log inside the
 * machine (daemon `/api/logs/:service`, through the proxy). Both refresh on demand.
 */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";

import { errorMessage } from "../../lib/errors.ts";
import { useTRPC } from "../../lib/trpc.ts";
import { useProjectInput } from "../../routes/project.tsx";
import { Button } from "../ui/button.tsx";
import { ErrorText } from "../ui/field.tsx";
import { Card, CardBody, CardHeader } from "../ui/misc.tsx";
import { daemon, daemonKeys } from "./daemon-client.ts";
import { LogView } from "./log-view.tsx";
import { retryDaemon } from "./machine-agents.tsx";

const TAIL = 300;

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
      <ContainerLogs machineId={machineId} />
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

function ContainerLogs({ machineId }: { machineId: string }) {
  const trpc = useTRPC();
  const input = useProjectInput();
  const logs = useQuery({ ...trpc.machine.logs.queryOptions({ ...input, machineId, tail: TAIL }), staleTime: 0 });
  return (
    <Card>
      <CardHeader
        title="Container logs"
        description={`The last ${TAIL} lines the machine wrote to stdout and stderr.`}
        actions={
          <Button size="sm" variant="secondary" pending={logs.isFetching} onClick={() => void logs.refetch()}>
            Refresh
          </Button>
        }
      />
      <CardBody>
        {logs.error ? <ErrorText className="mb-2">{errorMessage(logs.error)}</ErrorText> : null}
        <LogView
          text={logs.data?.container ?? (logs.isPending ? "Loading…" : "")}
          label="Container logs"
          empty="No output yet."
        />
      </CardBody>
    </Card>
  );
}

function ServiceLogs({ machineId, proxyPath }: { machineId: string; proxyPath: string }) {
  const services = useQuery({
    queryKey: daemonKeys.services(machineId),
    queryFn: () => daemon.listServices(proxyPath),
    retry: retryDaemon,
  });
  const [chosen, setChosen] = useState<string | null>(null);
  const service = chosen ?? services.data?.[0] ?? null;
  const log = useQuery({
    queryKey: daemonKeys.serviceLog(machineId, service ?? ""),
    queryFn: () => daemon.serviceLog(proxyPath, service ?? "", TAIL),
    enabled: service !== null,
    staleTime: 0,
    retry: retryDaemon,
  });
  return (
    <Card>
      <CardHeader
        title="Service logs"
        description="What s6 logged for each service inside the machine (the daemon is iterate-server)."
        actions={
          <>
            <label className="sr-only" htmlFor="service-log-select">
              Service
            </label>
            <select
              id="service-log-select"
              className="h-8 max-w-48 rounded-md border border-zinc-300 bg-white px-2 font-mono text-xs text-zinc-900 shadow-sm disabled:bg-zinc-100"
              value={service ?? ""}
              onChange={(event) => setChosen(event.target.value)}
              disabled={!services.data?.length}
            >
              {services.data?.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
            <Button
              size="sm"
              variant="secondary"
              pending={log.isFetching || services.isFetching}
              onClick={() => void Promise.all([services.refetch(), log.refetch()])}
            >
              Refresh
            </Button>
          </>
        }
      />
      <CardBody>
        {services.error ? <ErrorText className="mb-2">{errorMessage(services.error)}</ErrorText> : null}
        {log.error ? <ErrorText className="mb-2">{errorMessage(log.error)}</ErrorText> : null}
        <LogView
          text={log.data?.join("\n") ?? (log.isPending && service ? "Loading…" : "")}
          label={service ? `Log of ${service}` : "Service log"}
          empty={services.data?.length === 0 ? "No service has a log directory yet." : "No lines yet."}
        />
      </CardBody>
    </Card>
  );
}
