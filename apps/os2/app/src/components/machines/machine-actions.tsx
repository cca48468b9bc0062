/**
 * Lifecycle actions (start, stop, restart, archive, restore, recreate, delete) as a row menu for the table and
 * as buttons for the machine page. Delete always asks first; archive asks when the machine is running. Errors are the server's sentence, shown inline.
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { errorMessage } from "../../lib/errors.ts";
import { trpcClient, useTRPC } from "../../lib/trpc.ts";
import { useProjectInput } from "../../routes/project.tsx";
import { Button } from "../ui/button.tsx";
import { Dialog, DialogClose, DialogContent, DialogFooter } from "../ui/dialog.tsx";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "../ui/dropdown-menu.tsx";
import { ErrorText } from "../ui/field.tsx";
import { ACTION_LABELS, availableActions, type MachineAction, type MachineLike } from "./machine-types.ts";

type ProjectInput = ReturnType<typeof useProjectInput>;
type ActionInput = ProjectInput & { machineId: string };

// Each action is the machine router's procedure of the same name, with the same input.
function callAction(action: MachineAction, input: ActionInput): Promise<unknown> {
  return trpcClient.machine[action].mutate(input);
}

/** One mutation for every action of one machine; `pendingAction` says which one is running. */
export function useMachineAction(machineId: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = useProjectInput();
  const mutation = useMutation({
    mutationFn: (action: MachineAction) => callAction(action, { ...input, machineId }),
    // Not awaited: after a delete the page navigates away at once instead of refetching a machine that is gone.
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: trpc.machine.pathKey() });
    },
  });
  return {
    run: mutation.mutateAsync,
    pendingAction: mutation.isPending ? mutation.variables : undefined,
    error: mutation.error ? errorMessage(mutation.error) : null,
    reset: mutation.reset,
  };
}

/** "Delete brave-otter-42?" with the server's error inline; controlled, so a menu item can open it. */
export function DeleteMachineDialog({
  machine,
  open,
  onOpenChange,
  onDeleted,
}: {
  machine: Pick<MachineLike, "id" | "name"> & Partial<Pick<MachineLike, "desiredState" | "lastError">>;
  open: boolean;
  onOpenChange: (open: boolean) => void;
  onDeleted?: () => void;
}) {
  const { run, pendingAction, error, reset } = useMachineAction(machine.id);
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = useProjectInput();
  // A delete that keeps failing (the machine is in error while being deleted) can be forced: os2 forgets
  // the machine now and the reconciler removes whatever its provider still holds later.
  const stuck = machine.desiredState === "deleted";
  const force = useMutation({
    mutationFn: () => trpcClient.machine.delete.mutate({ ...input, machineId: machine.id, force: true }),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: trpc.machine.pathKey() }),
  });
  const confirm = async () => {
    try {
      if (stuck) await force.mutateAsync();
      else await run("delete");
      onOpenChange(false);
      onDeleted?.();
    } catch {
      // Shown below through `error`.
    }
  };
  const shownError = stuck ? (force.error ? errorMessage(force.error) : null) : error;
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        onOpenChange(next);
        if (!next) {
          reset();
          force.reset();
        }
      }}
    >
      <DialogContent
        title={stuck ? `Force delete ${machine.name}?` : `Delete ${machine.name}?`}
        description={
          stuck
            ? "Deleting it keeps failing. Force delete removes it from os2 now; whatever its provider still holds is removed by os2 later."
            : "Its container and everything in its workspace are removed. This cannot be undone."
        }
      >
        {stuck && machine.lastError ? <p className="text-sm text-neutral-600">{machine.lastError}</p> : null}
        {shownError ? <ErrorText>{shownError}</ErrorText> : null}
        <DialogFooter>
          <DialogClose asChild>
            <Button variant="secondary">Cancel</Button>
          </DialogClose>
          <Button
            variant="danger"
            pending={stuck ? force.isPending : pendingAction === "delete"}
            onClick={() => void confirm()}
          >
            {stuck ? "Force delete" : "Delete machine"}
          </Button>
        </DialogFooter>
      </DialogContent>
    </Dialog>
  );
}

/** Archiving stops a machine that runs: ask first, since its shells, agents and processes end. */
function asksBeforeArchive(machine: MachineLike): boolean {
  return machine.observedState === "running" || machine.observedState === "starting";
}

/** "Archive brave-otter-42?" for a machine that is running; controlled, like the delete dialog. */
function ArchiveMachineDialog({
  machine,
  open,
  onOpenChange,
}: {
  machine: MachineLike;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  const { run, pendingAction, error, reset } = useMachineAction(machine.id);
  const confirm = async () => {
    try {
      await run("archive");
      onOpenChange(false);
    } catch {
      // Shown below through `error`.
    }
  };
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        onOpenChange(next);
        if (!next) reset();
      }}
    >
      <DialogContent
        title={`Archive ${machine.name}?`}
        description="It is running: archiving stops it, and its terminals, agents and processes end. Its workspace is kept, and Restore starts it again."
      >
        {error ? <ErrorText>{error}</ErrorText> : null}
        <DialogFooter>
          <DialogClose asChild>
            <Button variant="secondary">Cancel</Button>
          </DialogClose>
          <Button variant="primary" pending={pendingAction === "archive"} onClick={() => void confirm()}>
            Archive machine
          </Button>
        </DialogFooter>
      </DialogContent>
    </Dialog>
  );
}

/** The table row's "⋯" menu. Reports failures to the table, which shows them above the rows. */
export function MachineActionsMenu({
  machine,
  onError,
}: {
  machine: MachineLike;
  onError: (message: string | null) => void;
}) {
  const { run, pendingAction } = useMachineAction(machine.id);
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const [confirmingArchive, setConfirmingArchive] = useState(false);
  const actions = availableActions(machine);
  const lifecycle = actions.filter((action) => action !== "delete");
  const select = async (action: MachineAction) => {
    onError(null);
    if (action === "archive" && asksBeforeArchive(machine)) {
      setConfirmingArchive(true);
      return;
    }
    try {
      await run(action);
    } catch (caught) {
      onError(`Could not ${ACTION_LABELS[action].toLowerCase()} ${machine.name}: ${errorMessage(caught)}`);
    }
  };
  if (actions.length === 0) return null;
  return (
    <>
      <DropdownMenu>
        <DropdownMenuTrigger asChild>
          <Button
            size="sm"
            variant="ghost"
            aria-label={`Actions for ${machine.name}`}
            pending={pendingAction !== undefined}
          >
            {pendingAction === undefined ? <DotsIcon /> : null}
          </Button>
        </DropdownMenuTrigger>
        <DropdownMenuContent>
          {lifecycle.map((action) => (
            <DropdownMenuItem key={action} onSelect={() => void select(action)}>
              {ACTION_LABELS[action]}
            </DropdownMenuItem>
          ))}
          {actions.includes("delete") ? (
            <>
              {lifecycle.length > 0 ? <DropdownMenuSeparator /> : null}
              <DropdownMenuItem
                className="text-red-700 data-[highlighted]:bg-red-50"
                onSelect={() => setConfirmingDelete(true)}
              >
                {machine.desiredState === "deleted" ? "Force delete…" : "Delete…"}
              </DropdownMenuItem>
            </>
          ) : null}
        </DropdownMenuContent>
      </DropdownMenu>
      <DeleteMachineDialog machine={machine} open={confirmingDelete} onOpenChange={setConfirmingDelete} />
      <ArchiveMachineDialog machine={machine} open={confirmingArchive} onOpenChange={setConfirmingArchive} />
    </>
  );
}

/** The machine page's header buttons: the most likely action first, destructive ones last. */
export function MachineActionButtons({ machine, onDeleted }: { machine: MachineLike; onDeleted: () => void }) {
  const { run, pendingAction, error } = useMachineAction(machine.id);
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const [confirmingArchive, setConfirmingArchive] = useState(false);
  const actions = availableActions(machine);
  const act = (action: MachineAction) => {
    if (action === "archive" && asksBeforeArchive(machine)) setConfirmingArchive(true);
    else void run(action).catch(() => undefined);
  };
  return (
    <div className="flex flex-col items-stretch gap-2 sm:items-end">
      <div className="flex flex-wrap gap-2">
        {actions
          .filter((action) => action !== "delete")
          .map((action) => (
            <Button
              key={action}
              size="sm"
              variant={action === "recreate" || action === "start" || action === "unarchive" ? "primary" : "secondary"}
              pending={pendingAction === action}
              disabled={pendingAction !== undefined && pendingAction !== action}
              onClick={() => act(action)}
            >
              {ACTION_LABELS[action]}
            </Button>
          ))}
        {actions.includes("delete") ? (
          <Button
            size="sm"
            variant="danger-ghost"
            disabled={pendingAction !== undefined}
            onClick={() => setConfirmingDelete(true)}
          >
            {machine.desiredState === "deleted" ? "Force delete" : "Delete"}
          </Button>
        ) : null}
      </div>
      {error ? <ErrorText className="max-w-md sm:text-right">{error}</ErrorText> : null}
      <DeleteMachineDialog
        machine={machine}
        open={confirmingDelete}
        onOpenChange={setConfirmingDelete}
        onDeleted={onDeleted}
      />
      <ArchiveMachineDialog machine={machine} open={confirmingArchive} onOpenChange={setConfirmingArchive} />
    </div>
  );
}

function DotsIcon() {
  return (
    <svg viewBox="0 0 20 20" className="size-4" fill="currentColor" aria-hidden="true">
      <circle cx="4" cy="10" r="1.6" />
      <circle cx="10" cy="10" r="1.6" />
      <circle cx="16" cy="10" r="1.6" />
    </svg>
  );
}
