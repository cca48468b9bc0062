/** `/orgs/$org/projects/$project/settings`: rename, change the slug, delete (organization admins). */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { createRoute, useNavigate } from "@tanstack/react-router";
import { useState } from "react";

import { NameSlugCard } from "../components/name-slug-card.tsx";
import { Button } from "../components/ui/button.tsx";
import { ConfirmDialog } from "../components/ui/dialog.tsx";
import { Card, CardHeader } from "../components/ui/misc.tsx";
import { useTRPC } from "../lib/trpc.ts";
import { isOrganizationAdmin, useOrganization } from "./organization.tsx";
import { projectRoute, useProject, useProjectInput } from "./project.tsx";

export const projectSettingsRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "settings",
  component: ProjectSettingsPage,
});

function ProjectSettingsPage() {
  const organization = useOrganization();
  const canEdit = isOrganizationAdmin(organization.role);
  return (
    <div className="max-w-2xl space-y-6">
      <GeneralCard canEdit={canEdit} />
      {canEdit ? <DangerCard /> : null}
    </div>
  );
}

function GeneralCard({ canEdit }: { canEdit: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const project = useProject();
  const input = useProjectInput();
  const [saved, setSaved] = useState(false);
  const update = useMutation(
    trpc.project.update.mutationOptions({
      onSuccess: async (updated) => {
        setSaved(true);
        await queryClient.invalidateQueries({ queryKey: trpc.project.pathKey() });
        if (updated.slug !== project.slug) {
          await navigate({
            to: "/orgs/$org/projects/$project/settings",
            params: { org: input.organizationSlug, project: updated.slug },
            replace: true,
          });
        }
      },
    }),
  );
  return (
    <NameSlugCard
      nameLabel="Project name"
      slugHint="Changing the slug changes the project's URLs and the API paths that name it."
      initialName={project.name}
      initialSlug={project.slug}
      canEdit={canEdit}
      pending={update.isPending}
      error={update.error}
      saved={saved}
      onSave={({ name, slug }) => {
        setSaved(false);
        update.mutate({ ...input, ...(name ? { name } : {}), ...(slug ? { newSlug: slug } : {}) });
      }}
    />
  );
}

function DangerCard() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const project = useProject();
  const input = useProjectInput();
  const remove = useMutation(trpc.project.delete.mutationOptions());
  const deleteProject = async () => {
    await remove.mutateAsync(input);
    await navigate({ to: "/orgs/$org", params: { org: input.organizationSlug } });
    queryClient.removeQueries({ queryKey: trpc.project.bySlug.queryKey(input) });
    await queryClient.invalidateQueries({
      queryKey: trpc.project.list.queryKey({ organizationSlug: input.organizationSlug }),
    });
  };
  return (
    <Card className="border-red-200">
      <CardHeader
        title="Delete project"
        description="Deletes its environment variables and access tokens. This cannot be undone."
        actions={
          <ConfirmDialog
            trigger={<Button variant="danger">Delete project</Button>}
            title={`Delete ${project.name}?`}
            description="Its environment variables and access tokens are deleted, and its tokens stop working. This cannot be undone."
            confirmLabel="Delete project"
            onConfirm={deleteProject}
          />
        }
      />
    </Card>
  );
}
