/**
 * How to reach this machine from outside the dashboard: the `os2` CLI, the TypeScript SDK and the HTTP API,
 * each filled in with this installation's URL and the machine's name, then the ports listening inside it
 * with their preview links. Every snippet authenticates with a project access token in `$OS2_TOKEN`; the
 * panel links to where one is made and never shows a secret itself.
 */
import { Link } from "@tanstack/react-router";
import { clsx } from "clsx";
import { useState } from "react";

import { useProjectInput } from "../../routes/project.tsx";
import { Card, CardHeader, CopyButton } from "../ui/misc.tsx";
import { MachinePortsTable } from "./machine-ports.tsx";

const WAYS = ["cli", "sdk", "http"] as const;
type Way = (typeof WAYS)[number];
const WAY_LABELS: Record<Way, string> = { cli: "CLI", sdk: "TypeScript SDK", http: "HTTP API" };

/** A machine name as one shell word: names are plain, but quote anything that is not. */
function shellWord(value: string): string {
  return /^[\w.@%+=:,/-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

export function snippetsFor(baseUrl: string, machineName: string): Record<Way, string> {
  const name = shellWord(machineName);
  const path = encodeURIComponent(machineName);
  return {
    cli: [
      `pnpm os2 login --url ${baseUrl} --token $OS2_TOKEN`,
      `pnpm os2 shell ${name}`,
      `pnpm os2 exec ${name} -- uname -a`,
    ].join("\n"),
    sdk: [
      `import { Os2 } from "@os2/sdk";`,
      ``,
      `const os2 = new Os2({ baseUrl: ${JSON.stringify(baseUrl)}, token: process.env.OS2_TOKEN! });`,
      `const machine = await os2.machines.get(${JSON.stringify(machineName)});`,
      `const run = await machine.exec("uname", { args: ["-a"] });`,
      `console.log(run.exitCode, run.stdout);`,
    ].join("\n"),
    http: [
      `curl ${baseUrl}/api/v1/machines/${path}/exec \\`,
      `  -H "Authorization: Bearer $OS2_TOKEN" -H "content-type: application/json" \\`,
      `  -d '{"command":"uname","args":["-a"]}'`,
    ].join("\n"),
  };
}

export function MachineConnect({
  machineId,
  machineName,
  running,
}: {
  machineId: string;
  machineName: string;
  running: boolean;
}) {
  const input = useProjectInput();
  const [way, setWay] = useState<Way>("cli");
  const snippets = snippetsFor(window.location.origin, machineName);
  return (
    <Card>
      <CardHeader
        title="Connect"
        description={
          <>
            From your own shell or code, with a project access token in{" "}
            <span className="font-mono text-[13px]">OS2_TOKEN</span> (
            <Link
              to="/orgs/$org/projects/$project/access-tokens"
              params={{ org: input.organizationSlug, project: input.projectSlug }}
              className="font-medium text-accent-700 hover:underline"
            >
              make one
            </Link>
            ,{" "}
            <a
              href="/api/v1/docs"
              target="_blank"
              rel="noreferrer"
              className="font-medium text-accent-700 hover:underline"
            >
              API reference
            </a>
            ).
          </>
        }
      />
      <div className="px-4 pb-4 sm:px-5">
        <div role="tablist" aria-label="Ways to connect" className="flex gap-1">
          {WAYS.map((name) => (
            <button
              key={name}
              type="button"
              role="tab"
              id={`connect-tab-${name}`}
              aria-selected={way === name}
              aria-controls="connect-snippet"
              onClick={() => setWay(name)}
              className={clsx(
                "rounded-md px-2.5 py-1 text-sm font-medium",
                way === name ? "bg-zinc-900 text-white" : "text-zinc-600 hover:bg-zinc-100 hover:text-zinc-900",
              )}
            >
              {WAY_LABELS[name]}
            </button>
          ))}
        </div>
        <div
          id="connect-snippet"
          role="tabpanel"
          aria-labelledby={`connect-tab-${way}`}
          className="relative mt-2 rounded-lg bg-zinc-900"
        >
          <pre
            className="overflow-x-auto p-3 pr-20 font-mono text-xs leading-relaxed text-zinc-100"
            data-testid="connect-snippet"
          >
            {snippets[way]}
          </pre>
          <div className="absolute top-2 right-2">
            <CopyButton text={snippets[way]} />
          </div>
        </div>
      </div>
      <div className="border-t border-zinc-100">
        <h4 className="px-4 pt-3 text-sm font-medium text-zinc-900 sm:px-5">Ports</h4>
        <p className="px-4 text-sm text-zinc-500 sm:px-5">
          Anything listening inside the machine opens on its own preview origin, HTTP and WebSocket alike.
        </p>
        <MachinePortsTable machineId={machineId} running={running} />
      </div>
    </Card>
  );
}
