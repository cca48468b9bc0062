/**
 * The route tree, code-based (no generator):
 *
 *   /login
 *   (authed layout: redirects to /login when signed out)
 *     /                                   → first organization, or /new-organization
 *     /new-organization
 *     /user/settings
 *     /admin
 *     /orgs/$org                          (loads the organization)
 *       (organization tabs)
 *         /                               projects dashboard
 *         /new-project
 *         /team
 *         /settings
 *       /projects/$project                (loads the project; project tabs)
 *         /                               overview
 *         /machines                       project-machines.tsx (the list)
 *           /$machineId                   machine-page.tsx
 *         /env-vars
 *         /access-tokens
 *         /settings
 */
import { createRouter } from "@tanstack/react-router";

import { PendingBlock } from "./components/ui/misc.tsx";
import { queryClient, trpc } from "./lib/trpc.ts";
import { adminRoute } from "./routes/admin.tsx";
import { authedRoute } from "./routes/authed.tsx";
import { homeRoute } from "./routes/home.tsx";
import { loginRoute } from "./routes/login.tsx";
import { machinePageRoute } from "./routes/machine-page.tsx";
import { newOrganizationRoute } from "./routes/new-organization.tsx";
import { organizationRoute, organizationTabsRoute } from "./routes/organization.tsx";
import { organizationNewProjectRoute } from "./routes/organization-new-project.tsx";
import { organizationProjectsRoute } from "./routes/organization-projects.tsx";
import { organizationSettingsRoute } from "./routes/organization-settings.tsx";
import { organizationTeamRoute } from "./routes/organization-team.tsx";
import { projectRoute } from "./routes/project.tsx";
import { projectAccessTokensRoute } from "./routes/project-access-tokens.tsx";
import { projectEnvVarsRoute } from "./routes/project-env-vars.tsx";
import { projectMachinesIndexRoute, projectMachinesRoute } from "./routes/project-machines.tsx";
import { projectOverviewRoute } from "./routes/project-overview.tsx";
import { projectSettingsRoute } from "./routes/project-settings.tsx";
import { NotFoundPage, rootRoute, RouteErrorPage } from "./routes/root.tsx";
import { userSettingsRoute } from "./routes/user-settings.tsx";

const routeTree = rootRoute.addChildren([
  loginRoute,
  authedRoute.addChildren([
    homeRoute,
    newOrganizationRoute,
    userSettingsRoute,
    adminRoute,
    organizationRoute.addChildren([
      organizationTabsRoute.addChildren([
        organizationProjectsRoute,
        organizationNewProjectRoute,
        organizationTeamRoute,
        organizationSettingsRoute,
      ]),
      projectRoute.addChildren([
        projectOverviewRoute,
        projectMachinesRoute.addChildren([projectMachinesIndexRoute, machinePageRoute]),
        projectEnvVarsRoute,
        projectAccessTokensRoute,
        projectSettingsRoute,
      ]),
    ]),
  ]),
]);

export const router = createRouter({
  routeTree,
  context: { queryClient, trpc },
  defaultPreload: "intent",
  // Loaders fill the TanStack Query cache; let Query decide freshness instead of the router's own cache.
  defaultPreloadStaleTime: 0,
  defaultPendingComponent: () => <PendingBlock />,
  defaultErrorComponent: RouteErrorPage,
  defaultNotFoundComponent: () => <NotFoundPage />,
  scrollRestoration: true,
});

declare module "@tanstack/react-router" {
  interface Register {
    router: typeof router;
  }
}
