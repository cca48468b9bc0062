/**
 * `/orgs/$org/team`: members and their roles. Admins invite by email (an address without an account gets
 * one it claims at first sign-in), change roles and remove members; anyone can leave. The server enforces
 * the rules (owners only manage owners; the last owner stays) and its messages are shown inline.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { createRoute, useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";

import { Button } from "../components/ui/button.tsx";
import { ConfirmDialog } from "../components/ui/dialog.tsx";
import { ErrorText, inputClasses, SelectField, TextField } from "../components/ui/field.tsx";
import {
  Badge,
  Card,
  CardBody,
  CardHeader,
  PendingBlock,
  phoneHidden,
  Table,
  TableHead,
  td,
} from "../components/ui/misc.tsx";
import { errorMessage } from "../lib/errors.ts";
import { formatFull, formatRelative } from "../lib/format.ts";
import { useTRPC } from "../lib/trpc.ts";
import { isOrganizationAdmin, organizationTabsRoute, useOrganization } from "./organization.tsx";

export const organizationTeamRoute = createRoute({
  getParentRoute: () => organizationTabsRoute,
  path: "team",
  component: TeamPage,
});

const ROLES = ["member", "admin", "owner"] as const;
type Role = (typeof ROLES)[number];

function TeamPage() {
  const organization = useOrganization();
  const canManage = isOrganizationAdmin(organization.role);
  return (
    <div className="space-y-6">
      {canManage ? <InviteCard /> : null}
      <MembersCard />
    </div>
  );
}

function InviteCard() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const organization = useOrganization();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [added, setAdded] = useState<string | null>(null);
  const addMember = useMutation(
    trpc.organization.addMember.mutationOptions({
      onSuccess: async (result) => {
        setAdded(result.email);
        setEmail("");
        await queryClient.invalidateQueries({
          queryKey: trpc.organization.members.queryKey({ organizationSlug: organization.slug }),
        });
      },
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setAdded(null);
    addMember.mutate({ organizationSlug: organization.slug, email, role });
  };
  const roles = organization.role === "owner" ? ROLES : ROLES.filter((r) => r !== "owner");
  return (
    <Card>
      <CardHeader
        title="Invite a member"
        description="They sign in with this email address and find the organization waiting."
      />
      <CardBody>
        <form onSubmit={submit} className="grid gap-3 sm:grid-cols-[1fr_10rem_auto] sm:items-end">
          <TextField
            label="Email"
            type="email"
            name="email"
            required
            value={email}
            onChange={(event) => setEmail(event.target.value)}
            placeholder="teammate@example.com"
          />
          <SelectField label="Role" name="role" value={role} onChange={(event) => setRole(event.target.value as Role)}>
            {roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </SelectField>
          <Button type="submit" variant="primary" pending={addMember.isPending}>
            Add member
          </Button>
        </form>
        <div aria-live="polite" className="mt-2 text-sm">
          {addMember.error ? <ErrorText>{errorMessage(addMember.error)}</ErrorText> : null}
          {added ? <p className="text-emerald-700">{added} was added.</p> : null}
        </div>
      </CardBody>
    </Card>
  );
}

function MembersCard() {
  const trpc = useTRPC();
  const organization = useOrganization();
  const me = useQuery(trpc.user.me.queryOptions()).data;
  const members = useQuery(trpc.organization.members.queryOptions({ organizationSlug: organization.slug }));
  const [error, setError] = useState<string | null>(null);
  return (
    <Card>
      <CardHeader
        title="Members"
        description={members.data ? `${members.data.length} in ${organization.name}` : undefined}
      />
      {members.isPending ? <PendingBlock /> : null}
      {members.error ? <ErrorText className="px-5 py-4">{errorMessage(members.error)}</ErrorText> : null}
      {error ? <ErrorText className="px-5 pt-3">{error}</ErrorText> : null}
      {members.data ? (
        <Table label="Members" fitsPhone>
          <TableHead
            columns={["Member", "Role", { label: "Joined", hideOnPhone: true }, { label: "Actions", srOnly: true }]}
          />
          <tbody className="divide-y divide-zinc-100">
            {members.data.map((member) => (
              <MemberRow
                key={member.userId}
                member={member}
                isSelf={member.userId === me?.id}
                actorRole={organization.role}
                onError={setError}
              />
            ))}
          </tbody>
        </Table>
      ) : null}
    </Card>
  );
}

type Member = { userId: string; name: string; email: string; role: Role; joinedAt: Date };

function MemberRow({
  member,
  isSelf,
  actorRole,
  onError,
}: {
  member: Member;
  isSelf: boolean;
  actorRole: Role;
  onError: (message: string | null) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const organization = useOrganization();
  const membersKey = trpc.organization.members.queryKey({ organizationSlug: organization.slug });
  const updateRole = useMutation(
    trpc.organization.updateMemberRole.mutationOptions({
      onMutate: () => onError(null),
      onError: (error) => onError(errorMessage(error)),
      onSettled: () => queryClient.invalidateQueries({ queryKey: membersKey }),
    }),
  );
  const remove = useMutation(trpc.organization.removeMember.mutationOptions());
  const canManageThis = isOrganizationAdmin(actorRole) && (actorRole === "owner" || member.role !== "owner");
  const roleOptions = actorRole === "owner" ? ROLES : ROLES.filter((r) => r !== "owner");

  const removeMember = async () => {
    await remove.mutateAsync({ organizationSlug: organization.slug, userId: member.userId });
    if (isSelf) {
      await queryClient.invalidateQueries({ queryKey: trpc.user.organizations.queryKey() });
      await navigate({ to: "/" });
      return;
    }
    await queryClient.invalidateQueries({ queryKey: membersKey });
  };

  return (
    <tr>
      <td className={td}>
        <div className="font-medium break-all text-zinc-900">
          {member.name || member.email}
          {isSelf ? <span className="ml-2 text-xs font-normal text-zinc-500">(you)</span> : null}
        </div>
        {member.name ? <div className="break-all text-zinc-500">{member.email}</div> : null}
      </td>
      <td className={td}>
        {canManageThis ? (
          <select
            aria-label={`Role of ${member.email}`}
            className={inputClasses("w-28 py-1.5 sm:w-32")}
            value={member.role}
            disabled={updateRole.isPending}
            onChange={(event) =>
              updateRole.mutate({
                organizationSlug: organization.slug,
                userId: member.userId,
                role: event.target.value as Role,
              })
            }
          >
            {roleOptions.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        ) : (
          <Badge tone={member.role === "owner" ? "accent" : "neutral"}>{member.role}</Badge>
        )}
      </td>
      <td className={`${td} ${phoneHidden}`} title={formatFull(member.joinedAt)}>
        {formatRelative(member.joinedAt)}
      </td>
      <td className={`${td} text-right`}>
        {canManageThis || isSelf ? (
          <ConfirmDialog
            trigger={
              <Button
                size="sm"
                variant="danger-ghost"
                aria-label={isSelf ? "Leave organization" : `Remove ${member.email}`}
              >
                {isSelf ? "Leave" : "Remove"}
              </Button>
            }
            title={isSelf ? `Leave ${organization.name}?` : `Remove ${member.email}?`}
            description={
              isSelf
                ? "You lose access to its projects until someone adds you again."
                : "They lose access to this organization's projects immediately."
            }
            confirmLabel={isSelf ? "Leave" : "Remove"}
            onConfirm={removeMember}
          />
        ) : null}
      </td>
    </tr>
  );
}
