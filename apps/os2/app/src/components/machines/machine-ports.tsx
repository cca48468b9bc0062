/**
 * What listens inside the machine, each port with an "Open" link to its preview origin (its own origin,
 * never the dashboard's). The daemon reads the ports; the list refreshes while the machine runs, so a dev
 * server an agent just started shows up within seconds.
 */
import { useQuery } from "@tanstack/react-query";

import { errorMessage } from "../../lib/errors.ts";
import { useTRPC } from "../../lib/trpc.ts";
import { useProjectInput } from "../../routes/project.tsx";
import { ExternalIcon } from "../ui/external-icon.tsx";
import { ErrorText } from "../ui/field.tsx";
import { CopyButton, PendingBlock, phoneHidden, Table, TableHead, td } from "../ui/misc.tsx";

const REFRESH_MS = 5_000;

/** The listening ports as a table, for the machine page's Connect panel. */
export function MachinePortsTable({ machineId, running }: { machineId: string; running: boolean }) {
  const trpc = useTRPC();
  const input = useProjectInput();
  const ports = useQuery({
    ...trpc.machine.ports.queryOptions({ ...input, machineId }),
    enabled: running,
    refetchInterval: running ? REFRESH_MS : false,
  });
  const apps = ports.data?.filter((port) => !port.isDaemon) ?? [];
  const daemon = ports.data?.find((port) => port.isDaemon);

  return (
    <>
      {!running ? <p className="px-4 py-3 text-sm text-zinc-500 sm:px-5">Listed while the machine runs.</p> : null}
      {running && ports.isPending ? <PendingBlock label="Reading ports…" /> : null}
      {ports.error ? <ErrorText className="px-4 py-3 sm:px-5">{errorMessage(ports.error)}</ErrorText> : null}
      {running && ports.data ? (
        <Table label="Listening ports" fitsPhone>
          <TableHead
            columns={["Port", "Process", { label: "Preview URL", hideOnPhone: true }, { label: "Open", srOnly: true }]}
          />
          <tbody className="divide-y divide-zinc-100">
            {apps.map((port) => (
              <tr key={port.port} data-testid={`port-${port.port}`}>
                <td className={`${td} font-mono tabular-nums`}>{port.port}</td>
                <td className={`${td} truncate font-mono text-[13px] text-zinc-600`}>
                  {port.process ?? "—"}
                  {port.address === "127.0.0.1" || port.address === "::1" ? (
                    <span className="ml-2 font-sans text-xs text-zinc-400">loopback</span>
                  ) : null}
                </td>
                <td className={`${td} ${phoneHidden} max-w-[22rem] truncate font-mono text-[13px] text-zinc-500`}>
                  {port.previewUrl}
                </td>
                <td className={`${td} text-right`}>
                  <span className="inline-flex items-center gap-2">
                    <a
                      href={port.previewUrl}
                      target="_blank"
                      rel="noreferrer"
                      className="inline-flex items-center gap-1 font-medium text-accent-700 hover:underline"
                      title={port.previewUrl}
                    >
                      Open
                      <ExternalIcon />
                    </a>
                    <CopyButton text={port.previewUrl} label="Copy URL" />
                  </span>
                </td>
              </tr>
            ))}
            {apps.length === 0 ? (
              <tr>
                <td className={`${td} text-zinc-500`} colSpan={4}>
                  Nothing but the os2 daemon{daemon ? ` (port ${daemon.port})` : ""} listens yet. Start a dev server in
                  the terminal (say <span className="font-mono">pnpm dev</span>) and it appears here.
                </td>
              </tr>
            ) : null}
          </tbody>
        </Table>
      ) : null}
    </>
  );
}
