/** `/`: straight to the user's first organization, or to creating one. */
import { createRoute, redirect } from "@tanstack/react-router";
import { authedRoute } from "./authed.tsx";

export const homeRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: "/",
  beforeLoad: async ({ context }) => {
    const organizations = await context.queryClient.fetchQuery(context.trpc.user.organizations.queryOptions());
    const first = organizations[0];
    if (first) throw redirect({ to: "/orgs/$org", params: { org: first.slug }, replace: true });
    throw redirect({ to: "/new-organization", replace: true });
  },
});
