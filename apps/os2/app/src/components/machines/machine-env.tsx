/** The env the machine boots with: every key, where it comes from, values masked. Values are never fetched. */
import { useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { clsx } from "clsx";

import { errorMessage } from "../../lib/errors.ts";
import { useTRPC } from "../../lib/trpc.ts";
import { useProjectInput } from "../../routes/project.tsx";
import { EnvVarCells } from "../env-var-cells.tsx";
import { ErrorText } from "../ui/field.tsx";
import { Card, CardHeader, EmptyState, PendingBlock, Table, TableHead, td } from "../ui/misc.tsx";

const SOURCE_TONES = {
  project: "bg-zinc-100 text-zinc-700 ring-zinc-200",
  machine: "bg-amber-50 text-amber-800 ring-amber-200",
  system: "bg-accent-50 text-accent-700 ring-accent-200",
} as const;

const SOURCE_TITLES = {
  project: "Set on the project's Env vars page",
  machine: "A machine-only override of the project's value",
  system: "Set by os2 for every machine",
} as const;

export function MachineEnv({ machineId }: { machineId: string }) {
  const trpc = useTRPC();
  const input = useProjectInput();
  const env = useQuery(trpc.machine.effectiveEnv.queryOptions({ ...input, machineId }));
  return (
    <div className="space-y-4">
      <div
        role="note"
        className="flex items-start gap-2 rounded-lg border border-accent-200 bg-accent-50 px-4 py-3 text-sm text-accent-700"
      >
        <svg viewBox="0 0 20 20" className="mt-0.5 size-4 shrink-0" aria-hidden="true">
          <circle cx="10" cy="10" r="8" fill="none" stroke="currentColor" strokeWidth="1.5" />
          <path d="M10 9v5M10 6.2v.1" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />
        </svg>
        <p>
          Env changes apply at the machine's next start: restart it to pick them up. Edit values on the project's{" "}
          <Link
            to="/orgs/$org/projects/$project/env-vars"
            params={{ org: input.organizationSlug, project: input.projectSlug }}
            className="font-medium underline underline-offset-2"
          >
            Env vars
          </Link>{" "}
          page.
        </p>
      </div>
      <Card>
        <CardHeader
          title="Effective environment"
          description={
            env.data ? `${env.data.length} variables; a machine override wins over the project value` : undefined
          }
        />
        {env.isPending ? <PendingBlock /> : null}
        {env.error ? <ErrorText className="px-5 py-4">{errorMessage(env.error)}</ErrorText> : null}
        {env.data?.length === 0 ? <EmptyState title="No variables" /> : null}
        {env.data && env.data.length > 0 ? (
          <Table label="Effective environment" fitsPhone>
            <TableHead columns={["Key", "Value", "Source"]} />
            <tbody className="divide-y divide-zinc-100">
              {env.data.map((variable) => (
                <tr key={variable.key}>
                  <EnvVarCells envKey={variable.key} maskedValue={variable.maskedValue} />
                  <td className={td}>
                    <span
                      title={SOURCE_TITLES[variable.source]}
                      className={clsx(
                        "inline-flex rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset",
                        SOURCE_TONES[variable.source],
                      )}
                    >
                      {variable.source}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        ) : null}
      </Card>
    </div>
  );
}
