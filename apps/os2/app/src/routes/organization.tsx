/**
 * `/orgs/$org`: loads the organization (404 page for non-members) and sets the analytics group. Its pages
 * with the organization's tab bar (projects, new project, team, settings) sit under a pathless layout;
 * project pages bring their own header.
 */
import { useSuspenseQuery } from "@tanstack/react-query";
import { createRoute, Link, Outlet } from "@tanstack/react-router";
import { useEffect } from "react";

import { setOrganizationGroup } from "../analytics.ts";
import { tabLinkClass, TabNav } from "../components/tab-nav.tsx";
import { Badge } from "../components/ui/misc.tsx";
import { orNotFound } from "../lib/not-found.ts";
import { useTRPC } from "../lib/trpc.ts";
import { authedRoute } from "./authed.tsx";
import { NotFoundPage, RouteErrorPage } from "./root.tsx";

export const organizationRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: "orgs/$org",
  loader: ({ context, params }) =>
    orNotFound(
      context.queryClient.ensureQueryData(
        context.trpc.organization.bySlug.queryOptions({ organizationSlug: params.org }),
      ),
    ),
  component: OrganizationLayout,
  notFoundComponent: () => <NotFoundPage what="organization" />,
  errorComponent: RouteErrorPage,
});

/** The current organization (with the caller's role), for any page under /orgs/$org. */
export function useOrganization() {
  const trpc = useTRPC();
  const { org } = organizationRoute.useParams();
  return useSuspenseQuery(trpc.organization.bySlug.queryOptions({ organizationSlug: org })).data;
}

export function isOrganizationAdmin(role: string): boolean {
  return role === "owner" || role === "admin";
}

function OrganizationLayout() {
  const organization = useOrganization();
  useEffect(() => {
    setOrganizationGroup({ id: organization.id, slug: organization.slug, name: organization.name });
  }, [organization.id, organization.slug, organization.name]);
  return <Outlet />;
}

export const organizationTabsRoute = createRoute({
  getParentRoute: () => organizationRoute,
  id: "organization-tabs",
  component: OrganizationTabsLayout,
});

function OrganizationTabsLayout() {
  const organization = useOrganization();
  const params = { org: organization.slug };
  return (
    <div className="space-y-6">
      <div className="space-y-4">
        <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
          <h1 className="truncate text-2xl font-semibold tracking-tight text-zinc-900">{organization.name}</h1>
          <Badge>{organization.role}</Badge>
        </div>
        <TabNav label="Organization">
          <Link to="/orgs/$org" params={params} activeOptions={{ exact: true }} className={tabLinkClass}>
            Projects
          </Link>
          <Link to="/orgs/$org/team" params={params} className={tabLinkClass}>
            Team
          </Link>
          <Link to="/orgs/$org/settings" params={params} className={tabLinkClass}>
            Settings
          </Link>
        </TabNav>
      </div>
      <Outlet />
    </div>
  );
}
