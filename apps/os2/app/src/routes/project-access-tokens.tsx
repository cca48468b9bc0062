/**
 * `/orgs/$org/projects/$project/access-tokens`: create, list and revoke project access tokens. The raw
 * token is shown once, right after creation, with a copy button; only its hash is stored.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { createRoute } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";

import { Button } from "../components/ui/button.tsx";
import { ConfirmDialog, Dialog, DialogClose, DialogContent, DialogFooter } from "../components/ui/dialog.tsx";
import { ErrorText, SelectField, TextField } from "../components/ui/field.tsx";
import {
  Badge,
  Card,
  CardBody,
  CardHeader,
  CopyButton,
  EmptyState,
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

export const projectAccessTokensRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "access-tokens",
  component: ProjectAccessTokensPage,
});

type CreatedToken = { id: string; name: string; token: string; expiresAt: Date | null };

/** How long a new token lives; the server's default is 90 days. */
const EXPIRY_CHOICES = [
  { label: "30 days", days: 30 },
  { label: "90 days", days: 90 },
  { label: "1 year", days: 365 },
  { label: "Never", days: null },
] as const;

function ProjectAccessTokensPage() {
  const [created, setCreated] = useState<CreatedToken | null>(null);
  return (
    <div className="space-y-6">
      <CreateTokenCard onCreated={setCreated} />
      <TokenList />
      <CreatedTokenDialog created={created} onClose={() => setCreated(null)} />
    </div>
  );
}

function CreateTokenCard({ onCreated }: { onCreated: (token: CreatedToken) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = useProjectInput();
  const [name, setName] = useState("");
  const [expiry, setExpiry] = useState<string>("90 days");
  const create = useMutation(
    trpc.accessToken.create.mutationOptions({
      onSuccess: async (token) => {
        setName("");
        onCreated(token);
        await queryClient.invalidateQueries({ queryKey: trpc.accessToken.list.queryKey(input) });
      },
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const days = EXPIRY_CHOICES.find((choice) => choice.label === expiry)?.days ?? 90;
    create.mutate({ ...input, name, expiresInDays: days });
  };
  return (
    <Card>
      <CardHeader
        title="Create an access token"
        description={
          <>
            A token calls the API for this project only, as{" "}
            <code className="font-mono text-xs">Authorization: Bearer pat_…</code>
          </>
        }
      />
      <CardBody>
        <form onSubmit={submit} className="flex flex-col gap-3 sm:flex-row sm:items-end">
          <TextField
            label="Token name"
            name="name"
            required
            maxLength={100}
            className="flex-1"
            value={name}
            onChange={(event) => setName(event.target.value)}
            placeholder="CI deploys"
            hint="Say where it will be used, so you know what breaks when you revoke it."
          />
          <SelectField
            label="Expires"
            name="expires"
            value={expiry}
            onChange={(event) => setExpiry(event.target.value)}
            hint="It also stops working if you leave the organization."
            className="sm:w-40"
          >
            {EXPIRY_CHOICES.map((choice) => (
              <option key={choice.label} value={choice.label}>
                {choice.label === "Never" ? "Never" : `In ${choice.label}`}
              </option>
            ))}
          </SelectField>
          <Button type="submit" variant="primary" pending={create.isPending} className="sm:mb-6">
            Create token
          </Button>
        </form>
        {create.error ? <ErrorText className="mt-2">{errorMessage(create.error)}</ErrorText> : null}
      </CardBody>
    </Card>
  );
}

function CreatedTokenDialog({ created, onClose }: { created: CreatedToken | null; onClose: () => void }) {
  return (
    <Dialog open={created !== null} onOpenChange={(open) => (open ? undefined : onClose())}>
      {created ? (
        <DialogContent
          title={`Token "${created.name}" created`}
          description={`Copy it now: this is the only time it is shown. Only a hash is stored. ${
            created.expiresAt ? `It expires on ${formatFull(created.expiresAt)}.` : "It never expires."
          }`}
          className="max-w-lg"
          // Escape or a stray click would lose the token for good: only "I have copied it" closes this.
          dismissable={false}
        >
          <div className="space-y-3">
            <label htmlFor="created-token" className="sr-only">
              Access token
            </label>
            <input
              id="created-token"
              readOnly
              value={created.token}
              onFocus={(event) => event.currentTarget.select()}
              data-testid="created-token"
              className="block w-full rounded-md border border-zinc-300 bg-zinc-50 px-3 py-2 font-mono text-xs text-zinc-900"
            />
            <div className="flex justify-end">
              <CopyButton text={created.token} label="Copy token" />
            </div>
          </div>
          <DialogFooter>
            <DialogClose asChild>
              <Button variant="primary">I have copied it</Button>
            </DialogClose>
          </DialogFooter>
        </DialogContent>
      ) : null}
    </Dialog>
  );
}

function TokenList() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = useProjectInput();
  const tokens = useQuery(trpc.accessToken.list.queryOptions(input));
  const revoke = useMutation(
    trpc.accessToken.revoke.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.accessToken.list.queryKey(input) }),
    }),
  );
  return (
    <Card>
      <CardHeader
        title="Tokens"
        description={tokens.data ? `${tokens.data.filter((t) => !t.revokedAt).length} active` : undefined}
      />
      {tokens.isPending ? <PendingBlock /> : null}
      {tokens.error ? <ErrorText className="px-5 py-4">{errorMessage(tokens.error)}</ErrorText> : null}
      {tokens.data?.length === 0 ? <EmptyState title="No access tokens yet" /> : null}
      {tokens.data && tokens.data.length > 0 ? (
        <Table label="Access tokens" fitsPhone>
          <TableHead
            columns={[
              "Name",
              { label: "Created", hideOnPhone: true },
              { label: "Last used", hideOnPhone: true },
              { label: "Expires", hideOnPhone: true },
              "Status",
              { label: "Actions", srOnly: true },
            ]}
          />
          <tbody className="divide-y divide-zinc-100">
            {tokens.data.map((token) => (
              <tr key={token.id} className={token.revokedAt ? "text-zinc-400" : undefined}>
                <td className={`${td} font-medium ${token.revokedAt ? "" : "text-zinc-900"}`}>{token.name}</td>
                <td className={`${td} ${phoneHidden} whitespace-nowrap`} title={formatFull(token.createdAt)}>
                  {formatRelative(token.createdAt)}
                </td>
                <td className={`${td} ${phoneHidden} whitespace-nowrap`} title={formatFull(token.lastUsedAt)}>
                  {formatRelative(token.lastUsedAt)}
                </td>
                <td className={`${td} ${phoneHidden} whitespace-nowrap`} title={formatFull(token.expiresAt)}>
                  {token.expiresAt ? formatRelative(token.expiresAt) : "never"}
                </td>
                <td className={td}>
                  {token.revokedAt ? (
                    <Badge tone="danger">revoked</Badge>
                  ) : token.expiresAt && new Date(token.expiresAt).getTime() <= Date.now() ? (
                    <Badge tone="danger">expired</Badge>
                  ) : (
                    <Badge tone="accent">active</Badge>
                  )}
                </td>
                <td className={`${td} text-right`}>
                  {token.revokedAt ? null : (
                    <ConfirmDialog
                      trigger={
                        <Button size="sm" variant="danger-ghost" aria-label={`Revoke ${token.name}`}>
                          Revoke
                        </Button>
                      }
                      title={`Revoke "${token.name}"?`}
                      description="Anything using this token gets 401 from now on. This cannot be undone."
                      confirmLabel="Revoke token"
                      onConfirm={() => revoke.mutateAsync({ ...input, id: token.id })}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      ) : null}
    </Card>
  );
}
