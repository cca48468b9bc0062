/**
 * "New machine": a readable default name, and a type picker that shows every type with its availability.
 * An unavailable type stays visible but disabled, with the server's reason (what to set, what to start).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { clsx } from "clsx";
import { type FormEvent, useState } from "react";

import { errorMessage } from "../../lib/errors.ts";
import { useTRPC } from "../../lib/trpc.ts";
import { useProjectInput } from "../../routes/project.tsx";
import { Button, Spinner } from "../ui/button.tsx";
import { Dialog, DialogClose, DialogContent, DialogFooter, DialogTrigger } from "../ui/dialog.tsx";
import { ErrorText, TextField } from "../ui/field.tsx";
import { draftOf, type LimitsDraft, LimitsFields, parseLimitsDraft } from "./limits-fields.tsx";
import { MACHINE_NAME_PATTERN, randomMachineName } from "./machine-names.ts";
import { type CreatedMachine, type MachineType, type MachineTypeAvailability, TYPE_LABELS } from "./machine-types.ts";

const PROFILE_SUMMARY: Record<"standard" | "strict", string> = {
  standard: "with sudo for system packages, on a network that reaches no other machine.",
  strict: "without sudo, on a network that reaches no other machine.",
};

const TYPE_DESCRIPTIONS: Record<MachineType, string> = {
  "local-docker": "A container on this host's Docker Engine, on a network of its own, as a non-root user.",
  daytona: "A Daytona cloud sandbox, booted from the newest snapshot of this stage.",
};

export function CreateMachineDialog({
  onCreated,
  triggerLabel = "New machine",
}: {
  onCreated?: (machine: CreatedMachine) => void;
  triggerLabel?: string;
}) {
  const [open, setOpen] = useState(false);
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogTrigger asChild>
        <Button variant="primary">{triggerLabel}</Button>
      </DialogTrigger>
      {open ? (
        <CreateMachineForm
          onCreated={(machine) => {
            setOpen(false);
            onCreated?.(machine);
          }}
        />
      ) : null}
    </Dialog>
  );
}

function CreateMachineForm({ onCreated }: { onCreated: (machine: CreatedMachine) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = useProjectInput();
  // Availability changes when Docker starts or stops: ask again each time the dialog opens.
  const types = useQuery({ ...trpc.machine.types.queryOptions(input), staleTime: 0 });
  const limits = useQuery(trpc.machine.limits.queryOptions(input));
  const [draft, setDraft] = useState<LimitsDraft | null>(null);
  const [name, setName] = useState(randomMachineName);
  const [chosenType, setChosenType] = useState<MachineType | null>(null);
  const firstAvailable = types.data?.find((type) => type.available)?.type ?? null;
  const type = chosenType ?? firstAvailable;
  const create = useMutation(
    trpc.machine.create.mutationOptions({
      onSuccess: async (machine) => {
        await Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.machine.list.pathKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.machine.counts.pathKey() }),
        ]);
        onCreated(machine);
      },
    }),
  );
  const nameProblem =
    name && !MACHINE_NAME_PATTERN.test(name)
      ? "Use lowercase letters, digits and dashes, starting with a letter or digit."
      : null;
  const support = limits.data?.support.find((entry) => entry.type === type);
  const currentDraft = draft ?? (limits.data ? draftOf(limits.data.defaults) : null);
  const parsed = currentDraft && limits.data ? parseLimitsDraft(currentDraft, limits.data.maximum) : null;
  const limitsProblem = parsed && !parsed.ok && support?.perMachine ? parsed : null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!type || limitsProblem) return;
    const chosenLimits = support?.perMachine && parsed?.ok ? parsed.limits : undefined;
    create.mutate({ ...input, name, type, ...(chosenLimits ? { limits: chosenLimits } : {}) });
  };
  return (
    <DialogContent
      title="New machine"
      description="A sandbox where agents work on this project's code."
      className="max-w-lg"
    >
      <form onSubmit={submit} className="space-y-5">
        <div className="flex items-end gap-2">
          <TextField
            label="Name"
            name="name"
            required
            maxLength={63}
            className="flex-1 [&_input]:font-mono"
            value={name}
            onChange={(event) => setName(event.target.value.toLowerCase().replace(/[\s_]/g, "-"))}
            autoComplete="off"
            spellCheck={false}
            error={nameProblem}
          />
          <Button
            variant="secondary"
            className={clsx("h-[38px]", nameProblem ? "mb-7" : null)}
            onClick={() => setName(randomMachineName())}
            aria-label="Suggest another name"
            title="Suggest another name"
          >
            <ShuffleIcon />
          </Button>
        </div>
        <fieldset className="space-y-2">
          <legend className="mb-1.5 text-sm font-medium text-zinc-800">Type</legend>
          {types.isPending ? (
            <p className="flex items-center gap-2 py-2 text-sm text-zinc-500" role="status">
              <Spinner /> Checking which providers are reachable…
            </p>
          ) : null}
          {types.error ? <ErrorText>{errorMessage(types.error)}</ErrorText> : null}
          {types.data?.map((option) => (
            <TypeOption key={option.type} option={option} checked={type === option.type} onChoose={setChosenType} />
          ))}
        </fieldset>
        <fieldset className="space-y-2">
          <legend className="mb-1.5 text-sm font-medium text-zinc-800">Resources</legend>
          {limits.error ? <ErrorText>{errorMessage(limits.error)}</ErrorText> : null}
          {limits.data && currentDraft ? (
            <>
              {support?.perMachine === false ? (
                <p className="text-sm text-zinc-600">
                  {support.notes[0] ?? "This provider sets its machines' resources itself."}
                </p>
              ) : (
                <LimitsFields
                  draft={currentDraft}
                  maximum={limits.data.maximum}
                  onChange={setDraft}
                  problem={limitsProblem}
                />
              )}
              <p className="text-xs text-zinc-500" data-testid="isolation-summary">
                Runs as the user <span className="font-mono">os2</span>, {PROFILE_SUMMARY[limits.data.profile]}
                {support?.perMachine && !support.diskQuota ? " Disk is not limited on this Docker storage driver." : ""}
              </p>
            </>
          ) : null}
        </fieldset>
        {create.error ? <ErrorText>{errorMessage(create.error)}</ErrorText> : null}
        <DialogFooter>
          <DialogClose asChild>
            <Button variant="secondary">Cancel</Button>
          </DialogClose>
          <Button
            type="submit"
            variant="primary"
            pending={create.isPending}
            disabled={!type || Boolean(nameProblem) || Boolean(limitsProblem)}
          >
            Create machine
          </Button>
        </DialogFooter>
      </form>
    </DialogContent>
  );
}

function TypeOption({
  option,
  checked,
  onChoose,
}: {
  option: MachineTypeAvailability;
  checked: boolean;
  onChoose: (type: MachineType) => void;
}) {
  return (
    <label
      className={clsx(
        "flex gap-3 rounded-lg border px-3.5 py-3 text-sm",
        option.available ? "cursor-pointer hover:bg-zinc-50" : "cursor-not-allowed bg-zinc-50",
        checked ? "border-accent-500 ring-1 ring-accent-500" : "border-zinc-200",
        "has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-offset-2 has-[:focus-visible]:outline-accent-600",
      )}
    >
      <input
        type="radio"
        name="type"
        value={option.type}
        checked={checked}
        disabled={!option.available}
        onChange={() => onChoose(option.type)}
        className="mt-0.5 size-4 shrink-0 accent-accent-600 focus:outline-none"
      />
      <span className="min-w-0 flex-1">
        <span className="flex flex-wrap items-center gap-2">
          <span className={clsx("font-medium", option.available ? "text-zinc-900" : "text-zinc-500")}>
            {TYPE_LABELS[option.type]}
          </span>
          <span className="font-mono text-xs text-zinc-500">{option.type}</span>
          <span
            className={clsx(
              "ml-auto rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset",
              option.available
                ? "bg-emerald-50 text-emerald-800 ring-emerald-200"
                : "bg-zinc-100 text-zinc-600 ring-zinc-200",
            )}
          >
            {option.available ? "available" : "unavailable"}
          </span>
        </span>
        <span className="mt-0.5 block text-zinc-600">{TYPE_DESCRIPTIONS[option.type]}</span>
        {!option.available && option.reason ? (
          <span className="mt-1.5 block text-xs break-words text-amber-800">{option.reason}</span>
        ) : null}
      </span>
    </label>
  );
}

function ShuffleIcon() {
  return (
    <svg viewBox="0 0 20 20" className="size-4" fill="none" stroke="currentColor" strokeWidth="1.6" aria-hidden="true">
      <path
        d="M3 6h3.5c1.7 0 2.7.8 3.6 2.2l1.8 3.6c.9 1.4 1.9 2.2 3.6 2.2H17M3 14h3.5c1 0 1.8-.3 2.4-.9M13 6.9c.6-.6 1.3-.9 2.3-.9H17"
        strokeLinecap="round"
      />
      <path d="m15 4 2 2-2 2M15 12l2 2-2 2" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}
