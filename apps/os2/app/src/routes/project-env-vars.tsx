/**
 * `/orgs/$org/projects/$project/env-vars`: set, replace and delete the project's environment variables.
 * Values are write-only here: the list shows them masked, and the form clears once a value is saved.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { createRoute } from "@tanstack/react-router";
import { type RefObject, useRef, useState } from "react";

import { EnvVarCells } from "../components/env-var-cells.tsx";
import { EnvVarForm } from "../components/env-var-form.tsx";
import { Button } from "../components/ui/button.tsx";
import { ConfirmDialog } from "../components/ui/dialog.tsx";
import { ErrorText } from "../components/ui/field.tsx";
import {
  Badge,
  Card,
  CardBody,
  CardHeader,
  EmptyState,
  InfoNote,
  PendingBlock,
  phoneHidden,
  Table,
  TableHead,
  td,
} from "../components/ui/misc.tsx";
import { errorMessage } from "../lib/errors.ts";
import { formatFull, formatRelative } from "../lib/format.ts";
import { useTRPC } from "../lib/trpc.ts";
import { projectRoute, useProjectInput } from "./project.tsx";

export const projectEnvVarsRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "env-vars",
  component: ProjectEnvVarsPage,
});

function ProjectEnvVarsPage() {
  const [key, setKey] = useState("");
  const valueInput = useRef<HTMLTextAreaElement>(null);
  const replace = (existingKey: string) => {
    setKey(existingKey);
    valueInput.current?.focus();
    valueInput.current?.scrollIntoView({ block: "center", behavior: "smooth" });
  };
  return (
    <div className="space-y-6">
      <InfoNote>
        Changes apply to machines at their next start. Running machines keep the values they started with and show{" "}
        <span className="font-medium">restart to apply</span> until they are restarted.
      </InfoNote>
      <SetEnvVarCard keyValue={key} onKeyChange={setKey} valueInput={valueInput} />
      <EnvVarList onReplace={replace} />
    </div>
  );
}

function SetEnvVarCard({
  keyValue,
  onKeyChange,
  valueInput,
}: {
  keyValue: string;
  onKeyChange: (key: string) => void;
  valueInput: RefObject<HTMLTextAreaElement | null>;
}) {
  return (
    <Card>
      <CardHeader title="Set a variable" description="Setting an existing key replaces its value." />
      <CardBody>
        <EnvVarForm
          machineId={null}
          keyValue={keyValue}
          onKeyChange={onKeyChange}
          valueInput={valueInput}
          submitLabel="Save variable"
          keyPlaceholder="API_TOKEN"
          savedText={(key) => `Saved ${key}.`}
        />
      </CardBody>
    </Card>
  );
}

function EnvVarList({ onReplace }: { onReplace: (key: string) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = useProjectInput();
  const envVars = useQuery(trpc.envVar.list.queryOptions(input));
  const remove = useMutation(
    trpc.envVar.delete.mutationOptions({
      onSuccess: () =>
        Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.envVar.list.queryKey(input) }),
          queryClient.invalidateQueries({ queryKey: trpc.machine.pathKey() }),
        ]),
    }),
  );
  return (
    <Card>
      <CardHeader
        title="Variables"
        description={envVars.data ? `${envVars.data.length} set in this project` : undefined}
      />
      {envVars.isPending ? <PendingBlock /> : null}
      {envVars.error ? <ErrorText className="px-5 py-4">{errorMessage(envVars.error)}</ErrorText> : null}
      {envVars.data?.length === 0 ? (
        <EmptyState title="No variables yet">
          Machines of this project will start with the variables you set above.
        </EmptyState>
      ) : null}
      {envVars.data && envVars.data.length > 0 ? (
        <Table label="Environment variables" fitsPhone>
          <TableHead
            columns={[
              "Key",
              "Value",
              { label: "Scope", hideOnPhone: true },
              { label: "Updated", hideOnPhone: true },
              { label: "Actions", srOnly: true },
            ]}
          />
          <tbody className="divide-y divide-zinc-100">
            {envVars.data.map((envVar) => (
              <tr key={envVar.id}>
                <EnvVarCells envKey={envVar.key} maskedValue={envVar.maskedValue} empty={envVar.empty} />
                <td className={`${td} ${phoneHidden}`}>
                  {envVar.machineId ? (
                    <Badge tone="warning">machine {envVar.machineId.slice(0, 12)}…</Badge>
                  ) : (
                    <Badge>project</Badge>
                  )}
                  {envVar.type === "system" ? (
                    <span className="ml-1.5">
                      <Badge tone="accent">system</Badge>
                    </span>
                  ) : null}
                </td>
                <td
                  className={`${td} ${phoneHidden} whitespace-nowrap text-zinc-600`}
                  title={formatFull(envVar.updatedAt)}
                >
                  {formatRelative(envVar.updatedAt)}
                </td>
                <td className={`${td} text-right whitespace-nowrap`}>
                  {envVar.machineId ? null : (
                    <Button
                      size="sm"
                      variant="ghost"
                      onClick={() => onReplace(envVar.key)}
                      aria-label={`Replace value of ${envVar.key}`}
                    >
                      Replace
                    </Button>
                  )}
                  <ConfirmDialog
                    trigger={
                      <Button size="sm" variant="danger-ghost" aria-label={`Delete ${envVar.key}`}>
                        Delete
                      </Button>
                    }
                    title={`Delete ${envVar.key}?`}
                    description="Machines lose this variable at their next start."
                    confirmLabel="Delete variable"
                    onConfirm={() => remove.mutateAsync({ ...input, id: envVar.id })}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      ) : null}
    </Card>
  );
}
