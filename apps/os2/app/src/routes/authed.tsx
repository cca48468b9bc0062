/**
 * The auth-required layout: every page except /login sits under it. Signed-out visitors go to /login with a
 * `redirect` back; signed-in users get the app shell, the realtime socket and analytics identification.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createRoute, Outlet, redirect, useRouter } from "@tanstack/react-router";
import { useEffect } from "react";

import { identifyUser } from "../analytics.ts";
import { AppShell } from "../components/app-shell.tsx";
import { useRealtimeInvalidation } from "../lib/realtime.ts";
import { useTRPC } from "../lib/trpc.ts";
import { rootRoute } from "./root.tsx";

export const authedRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: "authed",
  beforeLoad: async ({ context, location }) => {
    const me = await context.queryClient.ensureQueryData(context.trpc.user.me.queryOptions());
    if (!me) throw redirect({ to: "/login", search: { redirect: location.href } });
    // The top bar's organization switcher needs this on every page; start it with the page's own data.
    void context.queryClient.prefetchQuery(context.trpc.user.organizations.queryOptions());
    return { me };
  },
  component: AuthedLayout,
});

function AuthedLayout() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const me = useQuery(trpc.user.me.queryOptions());
  const user = me.data;
  useRealtimeInvalidation(queryClient);

  useEffect(() => {
    if (user) identifyUser({ id: user.id, email: user.email, name: user.name });
  }, [user]); // structural sharing keeps `user` stable across refetches that change nothing

  // The session ended while the page was open (signed out elsewhere, expired): re-run the guard above, which
  // redirects with the current path. (A <Navigate> here re-rendered during the transition with /login as
  // the "current" path and nested redirects until the tab ran out of memory.)
  useEffect(() => {
    if (me.data === null) void router.invalidate();
  }, [me.data, router]);

  if (!user) return null;
  return (
    <AppShell me={user}>
      <Outlet />
    </AppShell>
  );
}
