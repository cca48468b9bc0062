/** `/orgs/$org/projects/$project`: what the project holds, with a ready-to-paste API example. */
import { useQuery } from "@tanstack/react-query";
import { createRoute, Link } from "@tanstack/react-router";
import type { ReactNode } from "react";

import { Card, CardBody, CardHeader, CopyButton } from "../components/ui/misc.tsx";
import { formatFull, formatRelative } from "../lib/format.ts";
import { useTRPC } from "../lib/trpc.ts";
import { projectRoute, useProject, useProjectInput } from "./project.tsx";

export const projectOverviewRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "/",
  component: ProjectOverviewPage,
});

function ProjectOverviewPage() {
  const trpc = useTRPC();
  const project = useProject();
  const input = useProjectInput();
  const envVars = useQuery(trpc.envVar.list.queryOptions(input));
  const tokens = useQuery(trpc.accessToken.list.queryOptions(input));
  const machines = useQuery(trpc.machine.counts.queryOptions(input));
  const runningMachines = machines.data?.running;
  const params = { org: input.organizationSlug, project: input.projectSlug };
  const activeTokens = tokens.data?.filter((token) => !token.revokedAt).length;
  const example = [
    `curl -G "${window.location.origin}/api/trpc/envVar.list" \\`,
    `  -H "Authorization: Bearer $OS2_TOKEN" \\`,
    `  --data-urlencode 'input=${JSON.stringify({ json: input })}'`,
  ].join("\n");

  return (
    <div className="space-y-6">
      <div className="grid grid-cols-3 gap-2 sm:gap-3">
        <StatCard
          label="Machines"
          value={machines.data?.active ?? "…"}
          note={runningMachines === undefined ? "Sandboxes for agents" : `${runningMachines} running`}
        >
          <Link to="/orgs/$org/projects/$project/machines" params={params} className="absolute inset-0 rounded-xl">
            <span className="sr-only">Open machines</span>
          </Link>
        </StatCard>
        <StatCard
          label="Environment variables"
          value={envVars.data?.length ?? "…"}
          note="Applied at each machine start"
        >
          <Link to="/orgs/$org/projects/$project/env-vars" params={params} className="absolute inset-0 rounded-xl">
            <span className="sr-only">Open environment variables</span>
          </Link>
        </StatCard>
        <StatCard label="Active access tokens" value={activeTokens ?? "…"} note="Scoped to this project">
          <Link to="/orgs/$org/projects/$project/access-tokens" params={params} className="absolute inset-0 rounded-xl">
            <span className="sr-only">Open access tokens</span>
          </Link>
        </StatCard>
      </div>
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-[minmax(0,1fr)_minmax(0,1.4fr)]">
        <Card>
          <CardHeader title="Details" />
          <CardBody>
            <dl className="grid grid-cols-[7rem_minmax(0,1fr)] gap-y-3 text-sm">
              <dt className="text-zinc-500">Name</dt>
              <dd className="text-zinc-900">{project.name}</dd>
              <dt className="text-zinc-500">Slug</dt>
              <dd className="font-mono text-zinc-900">{project.slug}</dd>
              <dt className="text-zinc-500">ID</dt>
              <dd className="font-mono text-xs break-all text-zinc-900">{project.id}</dd>
              <dt className="text-zinc-500">Created</dt>
              <dd className="text-zinc-900" title={formatFull(project.createdAt)}>
                {formatRelative(project.createdAt)}
              </dd>
            </dl>
          </CardBody>
        </Card>
        <Card>
          <CardHeader
            title="Call the API"
            description="With an access token of this project (set OS2_TOKEN to it):"
            actions={<CopyButton text={example} label="Copy command" />}
          />
          <CardBody>
            <pre className="overflow-x-auto rounded-lg bg-zinc-900 p-3 font-mono text-xs leading-relaxed text-zinc-100">
              {example}
            </pre>
          </CardBody>
        </Card>
      </div>
    </div>
  );
}

function StatCard({
  label,
  value,
  note,
  children,
}: {
  label: string;
  value: ReactNode;
  note: string;
  children?: ReactNode;
}) {
  return (
    <div className="relative min-w-0 rounded-xl border border-zinc-200 bg-white p-3 shadow-xs transition hover:border-accent-200 hover:shadow-sm sm:p-4">
      <p className="text-xs leading-snug text-zinc-600 sm:text-sm">{label}</p>
      <p className="mt-1 text-xl font-semibold tracking-tight text-zinc-900 sm:text-2xl">{value}</p>
      <p className="mt-1 hidden text-xs text-zinc-500 sm:block">{note}</p>
      {children}
    </div>
  );
}
