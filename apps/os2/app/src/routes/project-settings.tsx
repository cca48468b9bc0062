/**
 * `/orgs/$org/projects/$project/settings`: rename, change the slug, the defaults for new machines' resources,
 * the warm machines kept for the project, delete (organization admins).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { createRoute, useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";

import { DoomedMachines } from "../components/machines/doomed-machines.tsx";
import { draftOf, type LimitsDraft, LimitsFields, parseLimitsDraft } from "../components/machines/limits-fields.tsx";
import { formatLimits } from "../components/machines/machine-limits.ts";
import { NameSlugCard } from "../components/name-slug-card.tsx";
import { Button } from "../components/ui/button.tsx";
import { ConfirmDialog } from "../components/ui/dialog.tsx";
import { ErrorText, TextField } from "../components/ui/field.tsx";
import { Card, CardHeader } from "../components/ui/misc.tsx";
import { errorMessage } from "../lib/errors.ts";
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
      <MachineDefaultsCard canEdit={canEdit} />
      <WarmPoolCard canEdit={canEdit} />
      {canEdit ? <DangerCard /> : null}
    </div>
  );
}

/** Defaults for the project's new machines, within the organization's maximum. */
function MachineDefaultsCard({ canEdit }: { canEdit: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = useProjectInput();
  const limits = useQuery(trpc.machine.limits.queryOptions(input));
  const [draft, setDraft] = useState<LimitsDraft | null>(null);
  const [saved, setSaved] = useState(false);
  const save = useMutation(
    trpc.project.setMachineDefaults.mutationOptions({
      onSuccess: async () => {
        setSaved(true);
        setDraft(null);
        await queryClient.invalidateQueries({ queryKey: trpc.machine.limits.queryKey(input) });
      },
    }),
  );
  if (!limits.data) return null;
  const current = draft ?? draftOf(limits.data.defaults);
  const parsed = parseLimitsDraft(current, limits.data.maximum);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!parsed.ok) return;
    save.mutate({ ...input, ...parsed.limits });
  };
  return (
    <Card>
      <CardHeader
        title="Machine resources"
        description={`What new machines of this project get. At most ${formatLimits(limits.data.maximum)} each, and ${limits.data.maxRunningMachines} running at once in this organization.`}
      />
      <form onSubmit={submit} className="space-y-4 px-4 py-4 sm:px-5">
        <LimitsFields
          draft={current}
          maximum={limits.data.maximum}
          onChange={(next) => {
            setSaved(false);
            setDraft(next);
          }}
          problem={parsed.ok ? null : parsed}
          disabled={!canEdit}
        />
        {save.error ? <ErrorText>{errorMessage(save.error)}</ErrorText> : null}
        {canEdit ? (
          <div className="flex items-center gap-3">
            <Button type="submit" variant="primary" pending={save.isPending} disabled={!parsed.ok || draft === null}>
              Save defaults
            </Button>
            {saved ? <span className="text-sm text-emerald-700">Saved. New machines get these.</span> : null}
          </div>
        ) : (
          <p className="text-sm text-zinc-500">Organization admins and owners can change these.</p>
        )}
      </form>
    </Card>
  );
}

/** Warm machines kept booted for this project alone, so its creates skip the boot even when the shared pool is empty. */
function WarmPoolCard({ canEdit }: { canEdit: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = useProjectInput();
  const pool = useQuery({ ...trpc.project.warmPool.queryOptions(input), refetchInterval: 5_000 });
  const [draft, setDraft] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const save = useMutation(
    trpc.project.setWarmPoolSize.mutationOptions({
      onSuccess: async () => {
        setSaved(true);
        setDraft(null);
        await queryClient.invalidateQueries({ queryKey: trpc.project.warmPool.queryKey(input) });
      },
    }),
  );
  if (!pool.data) return null;
  const { size, allotted, ready, booting, max, reservedMax } = pool.data;
  if (max === 0 && size === 0) {
    return (
      <Card>
        <CardHeader
          title="Warm machines"
          description="This installation keeps no warm machines for single projects (OS2_WARM_POOL_PROJECT_MAX is 0, or local Docker is not configured). New machines use the shared warm pool when there is one."
        />
      </Card>
    );
  }
  const value = draft ?? String(size);
  const parsed = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  const problem = Number.isNaN(parsed)
    ? "A whole number, 0 for none."
    : parsed > max
      ? `At most ${max} on this installation.`
      : null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (problem) return;
    save.mutate({ ...input, size: parsed });
  };
  const status =
    size === 0
      ? "None kept now: new local machines come from the shared pool, or boot."
      : `${ready} ready, ${booting} booting` +
        (allotted < size
          ? ` (${allotted} of ${size} allotted: the installation keeps at most ${reservedMax} for all projects together).`
          : ".");
  return (
    <Card>
      <CardHeader
        title="Warm machines"
        description={`Local machines booted ahead of time for this project alone, with its default resources, so a create here starts in milliseconds. They hold none of the project's data until one is claimed, and count against no quota. At most ${max}.`}
      />
      <form onSubmit={submit} className="space-y-4 px-4 py-4 sm:px-5">
        <TextField
          label="Warm machines to keep"
          inputMode="numeric"
          value={value}
          onChange={(event) => {
            setSaved(false);
            setDraft(event.target.value);
          }}
          error={draft === null ? null : problem}
          hint={status}
          disabled={!canEdit}
          className="max-w-xs"
        />
        {save.error ? <ErrorText>{errorMessage(save.error)}</ErrorText> : null}
        {canEdit ? (
          <div className="flex items-center gap-3">
            <Button
              type="submit"
              variant="primary"
              pending={save.isPending}
              disabled={problem !== null || draft === null}
            >
              Save
            </Button>
            {saved ? <span className="text-sm text-emerald-700">Saved. They boot in the background.</span> : null}
          </div>
        ) : (
          <p className="text-sm text-zinc-500">Organization admins and owners can change this.</p>
        )}
      </form>
    </Card>
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
  const [asked, setAsked] = useState(false);
  // Fetched when the dialog opens, so the list is current when the user reads it.
  const machines = useQuery({ ...trpc.project.machines.queryOptions(input), enabled: asked, staleTime: 0 });
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
        description="Deletes its machines, environment variables and access tokens. This cannot be undone."
        actions={
          <ConfirmDialog
            trigger={
              <Button variant="danger" onClick={() => setAsked(true)}>
                Delete project
              </Button>
            }
            title={`Delete ${project.name}?`}
            description="Its machines and their workspaces, environment variables and access tokens are deleted, and its tokens stop working. This cannot be undone."
            confirmLabel="Delete project"
            typeToConfirm={project.name}
            onConfirm={deleteProject}
          >
            <DoomedMachines machines={machines.data} loading={machines.isPending} />
          </ConfirmDialog>
        }
      />
    </Card>
  );
}
