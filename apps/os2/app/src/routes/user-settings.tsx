/** `/user/settings`: display name, account facts, memberships and sign-out. */
import { useMutation, useQuery, useQueryClient, useSuspenseQuery } from "@tanstack/react-query";
import { createRoute, Link, useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";

import { Button } from "../components/ui/button.tsx";
import { ErrorText, TextField } from "../components/ui/field.tsx";
import { Badge, Card, CardBody, CardHeader, PageHeader } from "../components/ui/misc.tsx";
import { errorMessage } from "../lib/errors.ts";
import { signOut } from "../lib/session.ts";
import { useTRPC } from "../lib/trpc.ts";
import { authedRoute } from "./authed.tsx";

export const userSettingsRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: "user/settings",
  component: UserSettingsPage,
});

function UserSettingsPage() {
  const trpc = useTRPC();
  const me = useSuspenseQuery(trpc.user.me.queryOptions()).data;
  const organizations = useQuery(trpc.user.organizations.queryOptions());
  if (!me) return null;
  return (
    <div className="mx-auto max-w-2xl space-y-6">
      <PageHeader title="User settings" description={me.email} />
      <ProfileCard initialName={me.name} />
      <Card>
        <CardHeader title="Organizations" description="Where you are a member, and your role there." />
        <ul className="divide-y divide-zinc-100">
          {(organizations.data ?? []).map((organization) => (
            <li key={organization.id} className="flex items-center justify-between gap-3 px-4 py-3 sm:px-5">
              <Link
                to="/orgs/$org"
                params={{ org: organization.slug }}
                className="truncate rounded text-sm font-medium text-zinc-900 hover:text-accent-700"
              >
                {organization.name}
              </Link>
              <Badge>{organization.role}</Badge>
            </li>
          ))}
          <li className="px-4 py-3 sm:px-5">
            <Link to="/new-organization" className="rounded text-sm font-medium text-accent-700 hover:text-accent-600">
              New organization
            </Link>
          </li>
        </ul>
      </Card>
      <SignOutCard />
    </div>
  );
}

function ProfileCard({ initialName }: { initialName: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState(initialName);
  const [saved, setSaved] = useState(false);
  const update = useMutation(
    trpc.user.update.mutationOptions({
      onSuccess: async () => {
        setSaved(true);
        await queryClient.invalidateQueries({ queryKey: trpc.user.pathKey() });
      },
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    update.mutate({ name });
  };
  return (
    <Card>
      <CardHeader title="Profile" />
      <CardBody>
        <form onSubmit={submit} className="flex flex-col gap-3 sm:flex-row sm:items-end">
          <TextField
            label="Display name"
            name="name"
            className="flex-1"
            required
            maxLength={100}
            value={name}
            onChange={(event) => {
              setName(event.target.value);
              setSaved(false);
            }}
            autoComplete="name"
          />
          <Button type="submit" variant="primary" pending={update.isPending}>
            Save
          </Button>
        </form>
        <div aria-live="polite" className="mt-2 text-sm">
          {update.error ? <ErrorText>{errorMessage(update.error)}</ErrorText> : null}
          {saved ? <p className="text-emerald-700">Saved.</p> : null}
        </div>
      </CardBody>
    </Card>
  );
}

function SignOutCard() {
  const navigate = useNavigate();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const onSignOut = async () => {
    setPending(true);
    try {
      await signOut();
      await navigate({ to: "/login" });
    } catch (caught) {
      setError(errorMessage(caught));
      setPending(false);
    }
  };
  return (
    <Card>
      <CardHeader
        title="Session"
        description="Sign out of os2 in this browser."
        actions={
          <Button pending={pending} onClick={() => void onSignOut()}>
            Sign out
          </Button>
        }
      />
      {error ? (
        <CardBody>
          <ErrorText>{error}</ErrorText>
        </CardBody>
      ) : null}
    </Card>
  );
}
