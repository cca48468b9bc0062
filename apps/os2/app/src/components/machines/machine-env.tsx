/**
 * The machine's environment tab: every variable it gets and where from (project, a machine override, os2),
 * and this machine's overrides, which can be set and removed here. Secret values are never fetched; os2's
 * non-secret values (machine id, project id, stage) are shown read-only. A running machine whose
 * environment changed since it started says so, with a restart button.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { clsx } from "clsx";
import { useState } from "react";

import { errorMessage } from "../../lib/errors.ts";
import { useTRPC } from "../../lib/trpc.ts";
import { useProjectInput } from "../../routes/project.tsx";
import { EnvVarCells } from "../env-var-cells.tsx";
import { EnvVarForm } from "../env-var-form.tsx";
import { Button } from "../ui/button.tsx";
import { ConfirmDialog } from "../ui/dialog.tsx";
import { ErrorText } from "../ui/field.tsx";
import { Card, CardBody, CardHeader, EmptyState, InfoNote, PendingBlock, Table, TableHead, td } from "../ui/misc.tsx";
import type { MachineDetail } from "./machine-types.ts";
import { RestartToApply } from "./restart-to-apply.tsx";

const SOURCE_TONES = {
  project: "bg-zinc-100 text-zinc-700 ring-zinc-200",
  machine: "bg-amber-50 text-amber-800 ring-amber-200",
  system: "bg-accent-50 text-accent-700 ring-accent-200",
} as const;

const SOURCE_TITLES = {
  project: "Set on the project's Env vars page",
  machine: "This machine's own override",
  system: "Set by os2 on every machine; read-only",
} as const;

export function MachineEnv({ machine }: { machine: MachineDetail }) {
  const trpc = useTRPC();
  const input = useProjectInput();
  const queryClient = useQueryClient();
  const env = useQuery(trpc.machine.effectiveEnv.queryOptions({ ...input, machineId: machine.id }));
  const remove = useMutation(
    trpc.envVar.delete.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.machine.pathKey() }),
    }),
  );
  return (
    <div className="space-y-4">
      {machine.envPendingRestart ? (
        <RestartToApply machine={machine} />
      ) : (
        <InfoNote>
          Changes apply at the machine&apos;s next start. Project-wide values are set on the project&apos;s{" "}
          <Link
            to="/orgs/$org/projects/$project/env-vars"
            params={{ org: input.organizationSlug, project: input.projectSlug }}
            className="font-medium underline underline-offset-2"
          >
            Env vars
          </Link>{" "}
          page; an override below applies to this machine only and wins over the project&apos;s value.
        </InfoNote>
      )}
      <SetOverrideCard machineId={machine.id} />
      <Card>
        <CardHeader
          title="Effective environment"
          description={env.data ? `${env.data.length} variables this machine starts with` : undefined}
        />
        {env.isPending ? <PendingBlock /> : null}
        {env.error ? <ErrorText className="px-5 py-4">{errorMessage(env.error)}</ErrorText> : null}
        {remove.error ? <ErrorText className="px-5 py-2">{errorMessage(remove.error)}</ErrorText> : null}
        {env.data?.length === 0 ? <EmptyState title="No variables" /> : null}
        {env.data && env.data.length > 0 ? (
          <Table label="Effective environment" fitsPhone>
            <TableHead columns={["Key", "Value", "Source", { label: "Actions", srOnly: true }]} />
            <tbody className="divide-y divide-zinc-100">
              {env.data.map((variable) => (
                <tr key={variable.key} data-testid={`env-row-${variable.key}`}>
                  <EnvVarCells
                    envKey={variable.key}
                    maskedValue={variable.maskedValue}
                    empty={variable.empty}
                    value={variable.value}
                  />
                  <td className={td}>
                    <span
                      title={SOURCE_TITLES[variable.source]}
                      className={clsx(
                        "inline-flex rounded-full px-2 py-0.5 text-xs font-medium whitespace-nowrap ring-1 ring-inset",
                        SOURCE_TONES[variable.source],
                      )}
                    >
                      {variable.source === "machine" ? "override" : variable.source}
                    </span>
                    {variable.overridesProject ? (
                      <span className="ml-1.5 text-xs text-zinc-500">hides the project value</span>
                    ) : null}
                  </td>
                  <td className={`${td} text-right`}>
                    {variable.overrideId ? (
                      <ConfirmDialog
                        trigger={
                          <Button size="sm" variant="danger-ghost" aria-label={`Remove override ${variable.key}`}>
                            Remove
                          </Button>
                        }
                        title={`Remove the override of ${variable.key}?`}
                        description={
                          variable.overridesProject
                            ? "The machine gets the project's value again at its next start."
                            : "The machine loses this variable at its next start."
                        }
                        confirmLabel="Remove override"
                        onConfirm={() => remove.mutateAsync({ ...input, id: variable.overrideId! })}
                      />
                    ) : null}
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

function SetOverrideCard({ machineId }: { machineId: string }) {
  const [key, setKey] = useState("");
  return (
    <Card>
      <CardHeader title="Override a variable" description="For this machine only. Setting a key it has replaces it." />
      <CardBody>
        <EnvVarForm
          machineId={machineId}
          keyValue={key}
          onKeyChange={setKey}
          submitLabel="Save override"
          keyPlaceholder="LOG_LEVEL"
          savedText={(saved) => `Saved the override of ${saved}.`}
        />
      </CardBody>
    </Card>
  );
}
