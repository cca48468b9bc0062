/** `/orgs/$org`: the organization's dashboard, listing its projects. */
import { useQuery } from "@tanstack/react-query";
import { createRoute, Link } from "@tanstack/react-router";

import { buttonClasses } from "../components/ui/button.tsx";
import { ErrorText } from "../components/ui/field.tsx";
import { Card, EmptyState, PendingBlock } from "../components/ui/misc.tsx";
import { errorMessage } from "../lib/errors.ts";
import { formatFull, formatRelative } from "../lib/format.ts";
import { useTRPC } from "../lib/trpc.ts";
import { isOrganizationAdmin, organizationTabsRoute, useOrganization } from "./organization.tsx";

export const organizationProjectsRoute = createRoute({
  getParentRoute: () => organizationTabsRoute,
  path: "/",
  loader: ({ context, params }) => {
    // Start the fetch early; the page renders its own pending state.
    void context.queryClient.prefetchQuery(context.trpc.project.list.queryOptions({ organizationSlug: params.org }));
  },
  component: OrganizationProjectsPage,
});

function OrganizationProjectsPage() {
  const trpc = useTRPC();
  const organization = useOrganization();
  const projects = useQuery(trpc.project.list.queryOptions({ organizationSlug: organization.slug }));
  const canCreate = isOrganizationAdmin(organization.role);
  const newProjectLink = canCreate ? (
    <Link to="/orgs/$org/new-project" params={{ org: organization.slug }} className={buttonClasses("primary")}>
      New project
    </Link>
  ) : null;

  return (
    <section aria-labelledby="projects-heading" className="space-y-4">
      <div className="flex items-center justify-between gap-3">
        <h2 id="projects-heading" className="text-base font-semibold text-zinc-900">
          Projects
        </h2>
        {projects.data && projects.data.length > 0 ? newProjectLink : null}
      </div>
      {projects.isPending ? <PendingBlock /> : null}
      {projects.error ? <ErrorText>{errorMessage(projects.error)}</ErrorText> : null}
      {projects.data?.length === 0 ? (
        <Card>
          <EmptyState title="No projects yet" action={newProjectLink}>
            {canCreate
              ? "A project holds machines, environment variables and access tokens."
              : "Ask an organization admin to create one."}
          </EmptyState>
        </Card>
      ) : null}
      {projects.data && projects.data.length > 0 ? (
        <ul className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
          {projects.data.map((project) => (
            <li key={project.id}>
              <Link
                to="/orgs/$org/projects/$project"
                params={{ org: organization.slug, project: project.slug }}
                className="group block h-full rounded-xl border border-zinc-200 bg-white p-4 shadow-xs transition hover:border-accent-200 hover:shadow-sm"
              >
                <div className="flex items-start gap-3">
                  <span
                    aria-hidden="true"
                    className="flex size-9 shrink-0 items-center justify-center rounded-lg bg-accent-50 text-sm font-semibold text-accent-700"
                  >
                    {project.name.slice(0, 1).toUpperCase()}
                  </span>
                  <div className="min-w-0">
                    <p className="truncate font-medium text-zinc-900 group-hover:text-accent-700">{project.name}</p>
                    <p className="truncate font-mono text-xs text-zinc-500">{project.slug}</p>
                  </div>
                </div>
                <p className="mt-4 text-xs text-zinc-500" title={formatFull(project.createdAt)}>
                  Created {formatRelative(project.createdAt)}
                </p>
              </Link>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
