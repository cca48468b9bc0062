/** `/orgs/$org/settings`: rename or re-slug (admins); delete (owners). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { createRoute, useNavigate } from "@tanstack/react-router";
import { useState } from "react";

import { DoomedMachines } from "../components/machines/doomed-machines.tsx";
import { NameSlugCard } from "../components/name-slug-card.tsx";
import { Button } from "../components/ui/button.tsx";
import { ConfirmDialog } from "../components/ui/dialog.tsx";
import { Card, CardHeader } from "../components/ui/misc.tsx";
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
  return (
    <NameSlugCard
      nameLabel="Name"
      slugHint="Changing the slug changes every URL of this organization."
      initialName={organization.name}
      initialSlug={organization.slug}
      canEdit={canEdit}
      pending={update.isPending}
      error={update.error}
      saved={saved}
      onSave={(changes) => {
        setSaved(false);
        update.mutate({ organizationSlug: organization.slug, ...changes });
      }}
    />
  );
}

function DangerCard() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const organization = useOrganization();
  const [asked, setAsked] = useState(false);
  const machines = useQuery({
    ...trpc.organization.machines.queryOptions({ organizationSlug: organization.slug }),
    enabled: asked,
    staleTime: 0,
  });
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
        description="Deletes its projects, machines, environment variables and access tokens. This cannot be undone."
        actions={
          <ConfirmDialog
            trigger={
              <Button variant="danger" onClick={() => setAsked(true)}>
                Delete organization
              </Button>
            }
            title={`Delete ${organization.name}?`}
            description="Every project in it, with its machines, environment variables and access tokens, is deleted. This cannot be undone."
            confirmLabel="Delete organization"
            typeToConfirm={organization.name}
            onConfirm={deleteOrganization}
          >
            <DoomedMachines machines={machines.data} loading={machines.isPending} />
          </ConfirmDialog>
        }
      />
    </Card>
  );
}
