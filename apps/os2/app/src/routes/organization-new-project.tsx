/** `/orgs/$org/new-project`: organization admins name a project; the slug is derived server-side. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { createRoute, Link, useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";

import { Button, buttonClasses } from "../components/ui/button.tsx";
import { ErrorText, TextField } from "../components/ui/field.tsx";
import { Card, CardBody, CardHeader, EmptyState } from "../components/ui/misc.tsx";
import { errorMessage } from "../lib/errors.ts";
import { useTRPC } from "../lib/trpc.ts";
import { isOrganizationAdmin, organizationTabsRoute, useOrganization } from "./organization.tsx";

export const organizationNewProjectRoute = createRoute({
  getParentRoute: () => organizationTabsRoute,
  path: "new-project",
  component: NewProjectPage,
});

function NewProjectPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const organization = useOrganization();
  const [name, setName] = useState("");
  const create = useMutation(
    trpc.project.create.mutationOptions({
      onSuccess: async (project) => {
        await queryClient.invalidateQueries({
          queryKey: trpc.project.list.queryKey({ organizationSlug: organization.slug }),
        });
        await navigate({
          to: "/orgs/$org/projects/$project",
          params: { org: organization.slug, project: project.slug },
        });
      },
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ organizationSlug: organization.slug, name });
  };

  if (!isOrganizationAdmin(organization.role)) {
    return (
      <Card>
        <EmptyState title="Only admins create projects">
          Ask an owner or admin of {organization.name} to create one.
        </EmptyState>
      </Card>
    );
  }
  return (
    <Card className="max-w-xl">
      <CardHeader
        title="New project"
        description="A project holds machines, environment variables and access tokens."
      />
      <CardBody>
        <form onSubmit={submit} className="space-y-4">
          <TextField
            label="Project name"
            name="name"
            required
            autoFocus
            maxLength={100}
            value={name}
            onChange={(event) => setName(event.target.value)}
            placeholder="Website"
            hint="The URL slug comes from the name and gets a suffix if it is taken."
          />
          {create.error ? <ErrorText>{errorMessage(create.error)}</ErrorText> : null}
          <div className="flex justify-end gap-2">
            <Link to="/orgs/$org" params={{ org: organization.slug }} className={buttonClasses("ghost")}>
              Cancel
            </Link>
            <Button type="submit" variant="primary" pending={create.isPending}>
              Create project
            </Button>
          </div>
        </form>
      </CardBody>
    </Card>
  );
}
