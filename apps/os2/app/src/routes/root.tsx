/** The root route: router context (query client + tRPC options proxy), pageviews, and fallbacks. */
import type { QueryClient } from "@tanstack/react-query";
import {
  createRootRouteWithContext,
  type ErrorComponentProps,
  Link,
  Outlet,
  useRouter,
  useRouterState,
} from "@tanstack/react-router";
import { useEffect } from "react";

import { trackPageview } from "../analytics.ts";
import { buttonClasses } from "../components/ui/button.tsx";
import { errorMessage } from "../lib/errors.ts";
import type { Trpc } from "../lib/trpc.ts";

export type RouterContext = { queryClient: QueryClient; trpc: Trpc };

export const rootRoute = createRootRouteWithContext<RouterContext>()({
  component: RootComponent,
});

function RootComponent() {
  const pathname = useRouterState({ select: (state) => state.resolvedLocation?.pathname });
  useEffect(() => {
    if (pathname) trackPageview(pathname);
  }, [pathname]);
  return <Outlet />;
}

export function NotFoundPage({ what = "page" }: { what?: string }) {
  return (
    <div className="mx-auto max-w-md px-4 py-20 text-center">
      <p className="text-sm font-medium text-accent-600">404</p>
      <h1 className="mt-2 text-xl font-semibold text-zinc-900">This {what} does not exist</h1>
      <p className="mt-2 text-sm text-zinc-600">
        It may have been renamed or deleted, or you may not be a member of it.
      </p>
      <Link to="/" className={buttonClasses("secondary", "md", "mt-6")}>
        Go home
      </Link>
    </div>
  );
}

export function RouteErrorPage({ error, reset }: ErrorComponentProps) {
  const router = useRouter();
  const retry = () => {
    reset();
    void router.invalidate();
  };
  return (
    <div className="mx-auto max-w-md px-4 py-20 text-center" role="alert">
      <h1 className="text-xl font-semibold text-zinc-900">Something went wrong</h1>
      <p className="mt-2 text-sm break-words text-zinc-600">{errorMessage(error)}</p>
      <div className="mt-6 flex justify-center gap-2">
        <button type="button" className={buttonClasses("secondary")} onClick={retry}>
          Try again
        </button>
        <Link to="/" className={buttonClasses("ghost")}>
          Go home
        </Link>
      </div>
    </div>
  );
}
