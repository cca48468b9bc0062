/**
 * The tRPC client and TanStack Query wiring. One QueryClient for the whole SPA; `trpc` (an options proxy)
 * serves route loaders, and `TRPCProvider`/`useTRPC` serve components. Both share the same client.
 */
import { QueryCache, QueryClient } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { createTRPCContext, createTRPCOptionsProxy } from "@trpc/tanstack-react-query";
import superjson from "superjson";

import type { AppRouter } from "../../../backend/trpc/app-router.ts";
import { isTrpcError, trpcErrorCode } from "./errors.ts";

export const queryClient: QueryClient = new QueryClient({
  queryCache: new QueryCache({
    // A session that expired mid-visit: re-ask "who am I"; the auth layout then sends the user to /login.
    onError: (error, query) => {
      if (trpcErrorCode(error) !== "UNAUTHORIZED") return;
      const path = query.queryKey[0];
      if (Array.isArray(path) && path[0] === "user" && path[1] === "me") return;
      void queryClient.invalidateQueries({ queryKey: [["user", "me"]] });
    },
  }),
  defaultOptions: {
    queries: {
      // The realtime socket invalidates what changed, so data can stay fresh for a while.
      staleTime: 30_000,
      refetchOnWindowFocus: true,
      // Not-found, forbidden and bad-input answers will not change on a retry.
      retry: (failureCount, error) => {
        if (isTrpcError(error) && error.data?.httpStatus !== undefined && error.data.httpStatus < 500) return false;
        return failureCount < 2;
      },
    },
  },
});

export const trpcClient = createTRPCClient<AppRouter>({
  // The server refuses batches of more than 20 calls (backend/http/limits.ts).
  // Subscriptions (live logs, usage) are server-sent events; everything else is batched HTTP.
  links: [
    splitLink({
      condition: (op) => op.type === "subscription",
      true: httpSubscriptionLink({ url: "/api/trpc", transformer: superjson }),
      false: httpBatchLink({ url: "/api/trpc", transformer: superjson, maxItems: 20 }),
    }),
  ],
});

export const trpc = createTRPCOptionsProxy<AppRouter>({ client: trpcClient, queryClient });

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();

export type Trpc = typeof trpc;
