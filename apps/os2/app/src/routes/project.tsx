/**
 * `/orgs/$org/projects/$project`: loads the project (404 page otherwise), sets the analytics group, and
 * frames its tabs: overview, machines, env vars, access tokens, settings.
 */
import { useSuspenseQuery } from "@tanstack/react-query";
import { createRoute, Link, Outlet } from "@tanstack/react-router";
import { useEffect } from "react";

import { setProjectGroup } from "../analytics.ts";
import { tabLinkClass, TabNav } from "../components/tab-nav.tsx";
import { orNotFound } from "../lib/not-found.ts";
import { useTRPC } from "../lib/trpc.ts";
import { organizationRoute, useOrganization } from "./organization.tsx";
import { NotFoundPage, RouteErrorPage } from "./root.tsx";

export const projectRoute = createRoute({
  getParentRoute: () => organizationRoute,
  path: "projects/$project",
  loader: ({ context, params }) =>
    orNotFound(
      context.queryClient.ensureQueryData(
        context.trpc.project.bySlug.queryOptions({ organizationSlug: params.org, projectSlug: params.project }),
      ),
    ),
  component: ProjectLayout,
  notFoundComponent: () => <NotFoundPage what="project" />,
  errorComponent: RouteErrorPage,
});

/** The current project, for any page under /orgs/$org/projects/$project. */
export function useProject() {
  const trpc = useTRPC();
  const { org, project } = projectRoute.useParams();
  return useSuspenseQuery(trpc.project.bySlug.queryOptions({ organizationSlug: org, projectSlug: project })).data;
}

/** The tRPC input every project procedure takes. */
export function useProjectInput() {
  const { org, project } = projectRoute.useParams();
  return { organizationSlug: org, projectSlug: project };
}

function ProjectLayout() {
  const organization = useOrganization();
  const project = useProject();
  useEffect(() => {
    setProjectGroup({ id: project.id, slug: project.slug, name: project.name, organizationId: project.organizationId });
  }, [project.id, project.slug, project.name, project.organizationId]);
  const params = { org: organization.slug, project: project.slug };

  return (
    <div className="space-y-6">
      <div className="space-y-4">
        <div className="min-w-0">
          <Link
            to="/orgs/$org"
            params={{ org: organization.slug }}
            className="rounded text-sm text-zinc-500 hover:text-zinc-800"
          >
            ← {organization.name}
          </Link>
          <h1 className="mt-1 truncate text-2xl font-semibold tracking-tight text-zinc-900">{project.name}</h1>
        </div>
        <TabNav label="Project">
          <Link
            to="/orgs/$org/projects/$project"
            params={params}
            activeOptions={{ exact: true }}
            className={tabLinkClass}
          >
            Overview
          </Link>
          <Link to="/orgs/$org/projects/$project/machines" params={params} className={tabLinkClass}>
            Machines
          </Link>
          <Link to="/orgs/$org/projects/$project/env-vars" params={params} className={tabLinkClass}>
            Env vars
          </Link>
          <Link to="/orgs/$org/projects/$project/access-tokens" params={params} className={tabLinkClass}>
            Access tokens
          </Link>
          <Link to="/orgs/$org/projects/$project/settings" params={params} className={tabLinkClass}>
            Settings
          </Link>
        </TabNav>
      </div>
      <Outlet />
    </div>
  );
}
