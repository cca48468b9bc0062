/** `/orgs/$org/settings`: rename or re-slug (admins); delete (owners). */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { createRoute, useNavigate } from "@tanstack/react-router";
import { useState, type FormEvent } from "react";
import { Button } from "../components/ui/button.tsx";
import { ConfirmDialog } from "../components/ui/dialog.tsx";
import { ErrorText, TextField } from "../components/ui/field.tsx";
import { Card, CardBody, CardHeader } from "../components/ui/misc.tsx";
import { errorMessage } from "../lib/errors.ts";
import { useTRPC } from "../lib/trpc.ts";
import { isOrganizationAdmin, organizationTabsRoute, useOrganization } from "./organization.tsx";

export const organizationSettingsRoute = createRoute({
  getParentRoute: () => organizationTabsRoute,
  path: "settings",
  component: OrganizationSettingsPage,
});

function OrganizationSettingsPage() {
  const organization = useOrganization();
  const canEdit = isOrganizationAdmin(organization.role);
  return (
    <div className="max-w-2xl space-y-6">
      <GeneralCard canEdit={canEdit} />
      {organization.role === "owner" ? <DangerCard /> : null}
    </div>
  );
}

function GeneralCard({ canEdit }: { canEdit: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const organization = useOrganization();
  const [name, setName] = useState(organization.name);
  const [slug, setSlug] = useState(organization.slug);
  const [saved, setSaved] = useState(false);
  const update = useMutation(
    trpc.organization.update.mutationOptions({
      onSuccess: async (updated) => {
        setSaved(true);
        await queryClient.invalidateQueries({ queryKey: trpc.organization.pathKey() });
        await queryClient.invalidateQueries({ queryKey: trpc.user.organizations.queryKey() });
        if (updated.slug !== organization.slug) {
          await navigate({ to: "/orgs/$org/settings", params: { org: updated.slug }, replace: true });
        }
      },
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    update.mutate({
      organizationSlug: organization.slug,
      ...(name !== organization.name ? { name } : {}),
      ...(slug !== organization.slug ? { slug } : {}),
    });
  };
  return (
    <Card>
      <CardHeader
        title="General"
        description={canEdit ? undefined : "Only organization admins and owners can change these."}
      />
      <CardBody>
        <form onSubmit={submit} className="space-y-4">
          <TextField
            label="Name"
            name="name"
            required
            maxLength={100}
            disabled={!canEdit}
            value={name}
            onChange={(event) => setName(event.target.value)}
          />
          <TextField
            label="Slug"
            name="slug"
            required
            disabled={!canEdit}
            value={slug}
            onChange={(event) => setSlug(event.target.value.toLowerCase())}
            hint="Changing the slug changes every URL of this organization."
          />
          <div aria-live="polite">
            {update.error ? <ErrorText>{errorMessage(update.error)}</ErrorText> : null}
            {saved && !update.isPending ? <p className="text-sm text-emerald-700">Saved.</p> : null}
          </div>
          {canEdit ? (
            <div className="flex justify-end">
              <Button type="submit" variant="primary" pending={update.isPending}>
                Save changes
              </Button>
            </div>
          ) : null}
        </form>
      </CardBody>
    </Card>
  );
}

function DangerCard() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const organization = useOrganization();
  const remove = useMutation(trpc.organization.delete.mutationOptions());
  const deleteOrganization = async () => {
    await remove.mutateAsync({ organizationSlug: organization.slug });
    await queryClient.invalidateQueries({ queryKey: trpc.user.organizations.queryKey() });
    await navigate({ to: "/" });
  };
  return (
    <Card className="border-red-200">
      <CardHeader
        title="Delete organization"
        description="Deletes its projects, environment variables and access tokens. This cannot be undone."
        actions={
          <ConfirmDialog
            trigger={<Button variant="danger">Delete organization</Button>}
            title={`Delete ${organization.name}?`}
            description="Every project, environment variable and access token in it is deleted. This cannot be undone."
            confirmLabel="Delete organization"
            onConfirm={deleteOrganization}
          />
        }
      />
    </Card>
  );
}
