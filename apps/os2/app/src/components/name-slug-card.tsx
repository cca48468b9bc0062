/** The "General" settings card of organizations and projects: a name and a slug, saved together. */
import { type FormEvent, useState } from "react";

import { errorMessage } from "../lib/errors.ts";
import { Button } from "./ui/button.tsx";
import { ErrorText, TextField } from "./ui/field.tsx";
import { Card, CardBody, CardHeader } from "./ui/misc.tsx";

export type NameSlugCardProps = {
  nameLabel: string;
  slugHint: string;
  initialName: string;
  initialSlug: string;
  canEdit: boolean;
  pending: boolean;
  error: unknown;
  saved: boolean;
  /** Called with only the fields that changed. */
  onSave(changes: { name?: string; slug?: string }): void;
};

export function NameSlugCard(props: NameSlugCardProps) {
  const [name, setName] = useState(props.initialName);
  const [slug, setSlug] = useState(props.initialSlug);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    props.onSave({
      ...(name !== props.initialName ? { name } : {}),
      ...(slug !== props.initialSlug ? { slug } : {}),
    });
  };
  return (
    <Card>
      <CardHeader
        title="General"
        description={props.canEdit ? undefined : "Only organization admins and owners can change these."}
      />
      <CardBody>
        <form onSubmit={submit} className="space-y-4">
          <TextField
            label={props.nameLabel}
            name="name"
            required
            maxLength={100}
            disabled={!props.canEdit}
            value={name}
            onChange={(event) => setName(event.target.value)}
          />
          <TextField
            label="Slug"
            name="slug"
            required
            disabled={!props.canEdit}
            value={slug}
            onChange={(event) => setSlug(event.target.value.toLowerCase())}
            hint={props.slugHint}
          />
          <div aria-live="polite">
            {props.error ? <ErrorText>{errorMessage(props.error)}</ErrorText> : null}
            {props.saved && !props.pending ? <p className="text-sm text-emerald-700">Saved.</p> : null}
          </div>
          {props.canEdit ? (
            <div className="flex justify-end">
              <Button type="submit" variant="primary" pending={props.pending}>
                Save changes
              </Button>
            </div>
          ) : null}
        </form>
      </CardBody>
    </Card>
  );
}
