/**
 * Modal dialogs on Radix: focus is trapped inside, Escape closes, focus returns to the trigger.
 */
import * as RadixDialog from "@radix-ui/react-dialog";
import { clsx } from "clsx";
import { type ReactNode, useState } from "react";

import { errorMessage } from "../../lib/errors.ts";
import { Button, type ButtonVariant } from "./button.tsx";
import { ErrorText, inputClasses } from "./field.tsx";

export const Dialog = RadixDialog.Root;
export const DialogTrigger = RadixDialog.Trigger;
export const DialogClose = RadixDialog.Close;

/**
 * With `dismissable={false}` neither Escape nor a click outside closes the dialog: for content that is lost
 * when it closes (a token shown once), only its own button does.
 */
export function DialogContent({
  title,
  description,
  children,
  className,
  dismissable = true,
}: {
  title: string;
  description?: ReactNode;
  children: ReactNode;
  className?: string;
  dismissable?: boolean;
}) {
  const keepOpen = dismissable ? {} : { onEscapeKeyDown: stay, onInteractOutside: stay };
  return (
    <RadixDialog.Portal>
      <RadixDialog.Overlay className="fixed inset-0 z-40 bg-zinc-950/40 backdrop-blur-[1px]" />
      <RadixDialog.Content
        className={clsx(
          "fixed top-1/2 left-1/2 z-50 w-[calc(100vw-2rem)] max-w-md -translate-x-1/2 -translate-y-1/2",
          "rounded-xl border border-zinc-200 bg-white p-5 shadow-xl focus:outline-none",
          className,
        )}
        // Without a description Radix warns; pass undefined explicitly when there is none.
        {...(description ? {} : { "aria-describedby": undefined })}
        {...keepOpen}
      >
        <RadixDialog.Title className="text-base font-semibold text-zinc-900">{title}</RadixDialog.Title>
        {description ? (
          <RadixDialog.Description className="mt-1.5 text-sm text-zinc-600">{description}</RadixDialog.Description>
        ) : null}
        <div className="mt-4">{children}</div>
      </RadixDialog.Content>
    </RadixDialog.Portal>
  );
}

function stay(event: Event) {
  event.preventDefault();
}

export function DialogFooter({ children }: { children: ReactNode }) {
  return <div className="mt-5 flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">{children}</div>;
}

/**
 * "Are you sure?" with the action's error shown inline instead of closing. `children` says what the action
 * destroys; with `typeToConfirm`, the confirm button stays disabled until that exact text is typed.
 */
export function ConfirmDialog({
  trigger,
  title,
  description,
  confirmLabel,
  variant = "danger",
  onConfirm,
  children,
  typeToConfirm,
}: {
  trigger: ReactNode;
  title: string;
  description: ReactNode;
  confirmLabel: string;
  variant?: ButtonVariant;
  onConfirm: () => Promise<unknown>;
  children?: ReactNode;
  typeToConfirm?: string;
}) {
  const [open, setOpen] = useState(false);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [typed, setTyped] = useState("");
  const typedOk = typeToConfirm === undefined || typed === typeToConfirm;
  const confirm = async () => {
    if (!typedOk) return;
    setPending(true);
    setError(null);
    try {
      await onConfirm();
      setOpen(false);
    } catch (caught) {
      setError(errorMessage(caught));
    } finally {
      setPending(false);
    }
  };
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) {
          setError(null);
          setTyped("");
        }
      }}
    >
      <DialogTrigger asChild>{trigger}</DialogTrigger>
      <DialogContent title={title} description={description}>
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void confirm();
          }}
        >
          {children}
          {typeToConfirm !== undefined ? (
            <label className="mt-3 block text-sm text-zinc-700">
              Type <span className="font-mono font-semibold text-zinc-900">{typeToConfirm}</span> to confirm
              <input
                className={inputClasses("mt-1.5 font-mono")}
                value={typed}
                onChange={(event) => setTyped(event.target.value)}
                autoComplete="off"
                spellCheck={false}
                data-testid="type-to-confirm"
              />
            </label>
          ) : null}
          {error ? <ErrorText className="mt-3">{error}</ErrorText> : null}
          <DialogFooter>
            <DialogClose asChild>
              <Button type="button" variant="secondary">
                Cancel
              </Button>
            </DialogClose>
            <Button type="submit" variant={variant} pending={pending} disabled={!typedOk}>
              {confirmLabel}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
