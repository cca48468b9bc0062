/** The SPA's entry: providers (TanStack Query, tRPC) around the router. */
import "./styles.css";

import { QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider } from "@tanstack/react-router";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { initAnalytics } from "./analytics.ts";
import { queryClient, trpcClient, TRPCProvider } from "./lib/trpc.ts";
import { router } from "./router.tsx";

// Before the first render, so the first pageview and identify are queued on a started client.
initAnalytics();

const container = document.getElementById("root");
if (!container) throw new Error('index.html is missing <div id="root">');

createRoot(container).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <RouterProvider router={router} />
      </TRPCProvider>
    </QueryClientProvider>
  </StrictMode>,
);
