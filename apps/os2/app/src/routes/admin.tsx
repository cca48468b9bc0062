/** `/admin`: system administrators see every user and organization, and can impersonate a user. */
import { useQuery, useSuspenseQuery } from "@tanstack/react-query";
import { createRoute } from "@tanstack/react-router";
import { useState } from "react";

import { Button } from "../components/ui/button.tsx";
import { ErrorText } from "../components/ui/field.tsx";
import {
  Badge,
  Card,
  CardHeader,
  EmptyState,
  PageHeader,
  PendingBlock,
  Table,
  TableHead,
  td,
} from "../components/ui/misc.tsx";
import { errorMessage } from "../lib/errors.ts";
import { formatFull, formatRelative } from "../lib/format.ts";
import { impersonateUser } from "../lib/session.ts";
import { useTRPC } from "../lib/trpc.ts";
import { authedRoute } from "./authed.tsx";

export const adminRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: "admin",
  component: AdminPage,
});

function AdminPage() {
  const trpc = useTRPC();
  const me = useSuspenseQuery(trpc.user.me.queryOptions()).data;
  if (me?.role !== "admin") {
    return (
      <div className="mx-auto max-w-md">
        <EmptyState title="System administrators only">
          {me?.impersonatedBy
            ? "You are impersonating a user who is not an administrator. Stop impersonating to return."
            : "Ask an administrator to add your email to OS2_ADMIN_EMAILS."}
        </EmptyState>
      </div>
    );
  }
  return (
    <div className="space-y-6">
      <PageHeader title="Administration" description="Every user and organization on this os2 instance." />
      <UsersCard currentUserId={me.id} />
      <OrganizationsCard />
      <WarmPoolCard />
    </div>
  );
}

function UsersCard({ currentUserId }: { currentUserId: string }) {
  const trpc = useTRPC();
  const users = useQuery(trpc.admin.users.queryOptions());
  const [error, setError] = useState<string | null>(null);
  const [pendingId, setPendingId] = useState<string | null>(null);
  const impersonate = async (userId: string) => {
    setPendingId(userId);
    setError(null);
    try {
      await impersonateUser(userId);
    } catch (caught) {
      setError(errorMessage(caught));
      setPendingId(null);
    }
  };
  return (
    <Card>
      <CardHeader title="Users" description={users.data ? `${users.data.length} shown, newest first` : undefined} />
      {error ? <ErrorText className="px-5 pt-3">{error}</ErrorText> : null}
      {users.isPending ? <PendingBlock /> : null}
      {users.error ? <ErrorText className="px-5 py-4">{errorMessage(users.error)}</ErrorText> : null}
      {users.data ? (
        <Table label="Users">
          <TableHead columns={["User", "Role", "Joined", { label: "Actions", srOnly: true }]} />
          <tbody className="divide-y divide-zinc-100">
            {users.data.map((user) => (
              <tr key={user.id}>
                <td className={td}>
                  <div className="font-medium text-zinc-900">{user.name || user.email}</div>
                  {user.name ? <div className="text-zinc-500">{user.email}</div> : null}
                </td>
                <td className={td}>
                  {user.role === "admin" ? <Badge tone="accent">admin</Badge> : <Badge>user</Badge>}
                </td>
                <td className={td} title={formatFull(user.createdAt)}>
                  {formatRelative(user.createdAt)}
                </td>
                <td className={`${td} text-right`}>
                  {user.id === currentUserId ? (
                    <span className="text-xs text-zinc-500">You</span>
                  ) : (
                    <Button
                      size="sm"
                      pending={pendingId === user.id}
                      onClick={() => void impersonate(user.id)}
                      aria-label={`Impersonate ${user.email}`}
                    >
                      Impersonate
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      ) : null}
    </Card>
  );
}

function OrganizationsCard() {
  const trpc = useTRPC();
  const organizations = useQuery(trpc.admin.organizations.queryOptions());
  return (
    <Card>
      <CardHeader title="Organizations" />
      {organizations.isPending ? <PendingBlock /> : null}
      {organizations.error ? <ErrorText className="px-5 py-4">{errorMessage(organizations.error)}</ErrorText> : null}
      {organizations.data?.length === 0 ? <EmptyState title="No organizations yet" /> : null}
      {organizations.data && organizations.data.length > 0 ? (
        <Table label="Organizations">
          <TableHead columns={["Organization", "Slug", "Members", "Created"]} />
          <tbody className="divide-y divide-zinc-100">
            {organizations.data.map((organization) => (
              <tr key={organization.id}>
                <td className={`${td} font-medium text-zinc-900`}>{organization.name}</td>
                <td className={`${td} font-mono text-xs text-zinc-600`}>{organization.slug}</td>
                <td className={td}>{organization.members}</td>
                <td className={td} title={formatFull(organization.createdAt)}>
                  {formatRelative(organization.createdAt)}
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      ) : null}
    </Card>
  );
}

function formatAge(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${(minutes / 60).toFixed(1)} h`;
}

function WarmPoolCard() {
  const trpc = useTRPC();
  const pool = useQuery({ ...trpc.admin.warmPool.queryOptions(), refetchInterval: 5_000 });
  return (
    <Card>
      <CardHeader
        title="Warm pool"
        description={
          pool.data
            ? pool.data.size === 0 && pool.data.reservedMax === 0
              ? "Off (OS2_WARM_POOL_SIZE=0, and no project may keep its own): every machine boots cold."
              : `Local machines booted ahead of demand: ${pool.data.size} shared, and up to ${pool.data.projectMax} kept for any one project (${pool.data.reservedMax} for all projects together). A create claims one. They hold no project data until claimed and count against no quota.`
            : undefined
        }
      />
      {pool.isPending ? <PendingBlock /> : null}
      {pool.error ? <ErrorText className="px-5 py-4">{errorMessage(pool.error)}</ErrorText> : null}
      {pool.data && (pool.data.size > 0 || pool.data.reservedMax > 0) && pool.data.members.length === 0 ? (
        <EmptyState title="No members right now">The reconciler's leader boots them one at a time.</EmptyState>
      ) : null}
      {pool.data && pool.data.members.length > 0 ? (
        <Table label="Warm pool members">
          <TableHead columns={["Member", "State", "Kept for", "Age", "Image", "Profile"]} />
          <tbody className="divide-y divide-zinc-100">
            {pool.data.members.map((member) => (
              <tr key={member.id}>
                <td className={`${td} font-mono text-xs text-zinc-600`}>{member.id}</td>
                <td className={td}>
                  <Badge tone={member.state === "ready" ? "accent" : "neutral"}>{member.state}</Badge>
                  {member.stale ? <span className="ml-2 text-xs text-zinc-500">to be renewed</span> : null}
                </td>
                <td className={td}>{member.project ? member.project.name : "shared"}</td>
                <td className={td}>{formatAge(member.ageMs)}</td>
                <td className={`${td} font-mono text-xs text-zinc-600`} title={member.imageVersion}>
                  {member.imageVersion.replace(/^sha256:/, "").slice(0, 12)}
                </td>
                <td className={td}>{member.profile}</td>
              </tr>
            ))}
          </tbody>
        </Table>
      ) : null}
    </Card>
  );
}
