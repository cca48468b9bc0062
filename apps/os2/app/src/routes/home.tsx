/** `/`: straight to the user's first organization, or to creating one. */
import { createRoute, redirect } from "@tanstack/react-router";

import { authedRoute } from "./authed.tsx";

export const homeRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: "/",
  beforeLoad: async ({ context }) => {
    // Always ask the server: a cached list may still hold an organization that was just deleted or left.
    const organizations = await context.queryClient.fetchQuery({
      ...context.trpc.user.organizations.queryOptions(),
      staleTime: 0,
    });
    const first = organizations[0];
    if (first) throw redirect({ to: "/orgs/$org", params: { org: first.slug }, replace: true });
    throw redirect({ to: "/new-organization", replace: true });
  },
});
