/** `/new-organization`: name (and optionally a slug); the creator becomes the owner. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { createRoute, Link, useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";

import { Button, buttonClasses } from "../components/ui/button.tsx";
import { TextField } from "../components/ui/field.tsx";
import { Card, CardBody, PageHeader } from "../components/ui/misc.tsx";
import { errorMessage } from "../lib/errors.ts";
import { useTRPC } from "../lib/trpc.ts";
import { authedRoute } from "./authed.tsx";

export const newOrganizationRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: "new-organization",
  component: NewOrganizationPage,
});

function NewOrganizationPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const organizations = useQuery(trpc.user.organizations.queryOptions());
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const create = useMutation(
    trpc.organization.create.mutationOptions({
      onSuccess: async (created) => {
        await queryClient.invalidateQueries({ queryKey: trpc.user.organizations.queryKey() });
        await navigate({ to: "/orgs/$org", params: { org: created.slug } });
      },
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ name, ...(slug.trim() ? { slug: slug.trim() } : {}) });
  };
  const isFirst = organizations.data?.length === 0;

  return (
    <div className="mx-auto max-w-lg space-y-6">
      <PageHeader
        title={isFirst ? "Create your first organization" : "New organization"}
        description="Organizations own projects and their machines. You become its owner and can invite your team."
      />
      <Card>
        <CardBody>
          <form onSubmit={submit} className="space-y-4">
            <TextField
              label="Name"
              name="name"
              required
              autoFocus
              maxLength={100}
              value={name}
              onChange={(event) => setName(event.target.value)}
              placeholder="Acme Inc."
            />
            <TextField
              label="Slug (optional)"
              name="slug"
              value={slug}
              onChange={(event) => setSlug(event.target.value.toLowerCase())}
              placeholder="acme"
              hint="Used in URLs. Leave empty to derive it from the name."
            />
            {create.error ? (
              <p role="alert" className="text-sm text-red-700">
                {errorMessage(create.error)}
              </p>
            ) : null}
            <div className="flex justify-end gap-2">
              {!isFirst ? (
                <Link to="/" className={buttonClasses("ghost")}>
                  Cancel
                </Link>
              ) : null}
              <Button type="submit" variant="primary" pending={create.isPending}>
                Create organization
              </Button>
            </div>
          </form>
        </CardBody>
      </Card>
    </div>
  );
}
