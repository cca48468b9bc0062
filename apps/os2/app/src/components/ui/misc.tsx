import { clsx } from "clsx";
import { type ReactNode, useEffect, useState } from "react";

import { Button, Spinner } from "./button.tsx";

export function PageHeader({
  title,
  description,
  actions,
}: {
  title: ReactNode;
  description?: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <div className="flex flex-col gap-3 sm:flex-row sm:items-end sm:justify-between">
      <div className="min-w-0">
        <h1 className="truncate text-xl font-semibold tracking-tight text-zinc-900">{title}</h1>
        {description ? <p className="mt-1 text-sm text-zinc-600">{description}</p> : null}
      </div>
      {actions ? <div className="flex flex-wrap gap-2">{actions}</div> : null}
    </div>
  );
}

export function Card({ children, className }: { children: ReactNode; className?: string }) {
  return (
    <section className={clsx("rounded-xl border border-zinc-200 bg-white shadow-xs", className)}>{children}</section>
  );
}

export function CardHeader({
  title,
  description,
  actions,
}: {
  title: ReactNode;
  description?: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <div className="flex flex-col gap-3 border-b border-zinc-200 px-4 py-3.5 sm:flex-row sm:items-center sm:justify-between sm:px-5">
      <div className="min-w-0">
        <h2 className="text-sm font-semibold text-zinc-900">{title}</h2>
        {description ? <p className="mt-0.5 text-sm text-zinc-600">{description}</p> : null}
      </div>
      {actions ? <div className="flex shrink-0 flex-wrap gap-2">{actions}</div> : null}
    </div>
  );
}

export function CardBody({ children, className }: { children: ReactNode; className?: string }) {
  return <div className={clsx("px-4 py-4 sm:px-5", className)}>{children}</div>;
}

export function Badge({
  children,
  tone = "neutral",
}: {
  children: ReactNode;
  tone?: "neutral" | "accent" | "warning" | "danger";
}) {
  const tones = {
    neutral: "bg-zinc-100 text-zinc-700 ring-zinc-200",
    accent: "bg-accent-50 text-accent-700 ring-accent-200",
    warning: "bg-amber-50 text-amber-800 ring-amber-200",
    danger: "bg-red-50 text-red-700 ring-red-200",
  } as const;
  return (
    <span
      className={clsx(
        "inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset",
        tones[tone],
      )}
    >
      {children}
    </span>
  );
}

export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="flex flex-col items-center px-6 py-10 text-center">
      <p className="text-sm font-medium text-zinc-900">{title}</p>
      {children ? <div className="mt-1 max-w-sm text-sm text-zinc-600">{children}</div> : null}
      {action ? <div className="mt-4">{action}</div> : null}
    </div>
  );
}

export function PendingBlock({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="flex items-center justify-center gap-2 py-16 text-sm text-zinc-500" role="status">
      <Spinner />
      {label}
    </div>
  );
}

/** Copies text to the clipboard and says so for two seconds (announced to screen readers). */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return;
    const timer = setTimeout(() => setState("idle"), 2000);
    return () => clearTimeout(timer);
  }, [state]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState("copied");
    } catch {
      // Clipboard access needs a secure context or permission; the value stays selectable on screen.
      setState("failed");
    }
  };
  return (
    <Button size="sm" variant="secondary" onClick={() => void copy()}>
      <span aria-live="polite">{state === "copied" ? "Copied" : state === "failed" ? "Select and copy" : label}</span>
    </Button>
  );
}

/**
 * Table shell. Wide tables scroll sideways on narrow screens instead of squashing columns; tables marked
 * `fitsPhone` hide their secondary columns (`phoneHidden`) and wrap instead.
 */
export function Table({
  children,
  label,
  fitsPhone = false,
}: {
  children: ReactNode;
  label: string;
  fitsPhone?: boolean;
}) {
  return (
    <div className="overflow-x-auto">
      <table
        className={clsx("w-full text-left text-sm", fitsPhone ? "sm:min-w-[36rem]" : "min-w-[36rem]")}
        aria-label={label}
      >
        {children}
      </table>
    </div>
  );
}

export const th = "px-4 py-2.5 text-xs font-medium tracking-wide text-zinc-500 uppercase sm:px-5";

/** A column of `TableHead`: a plain label, or one hidden on phones, or one only screen readers see. */
export type TableColumn = string | { label: string; hideOnPhone?: boolean; srOnly?: boolean };

export function TableHead({ columns }: { columns: TableColumn[] }) {
  return (
    <thead className="border-b border-zinc-200 bg-zinc-50/60">
      <tr>
        {columns.map((column) => {
          const {
            label,
            hideOnPhone = false,
            srOnly = false,
          } = typeof column === "string" ? { label: column } : column;
          return (
            <th key={label} className={hideOnPhone ? `${th} ${phoneHidden}` : th}>
              {srOnly ? <span className="sr-only">{label}</span> : label}
            </th>
          );
        })}
      </tr>
    </thead>
  );
}
export const td = "px-4 py-3 align-middle sm:px-5";
/** Secondary columns that a `fitsPhone` table drops below the `sm` breakpoint. */
export const phoneHidden = "hidden sm:table-cell";

/** An informational callout (an "i" icon and a sentence or two), announced as a note. */
export function InfoNote({ children }: { children: ReactNode }) {
  return (
    <div
      role="note"
      className="flex items-start gap-2 rounded-lg border border-accent-200 bg-accent-50 px-4 py-3 text-sm text-accent-700"
    >
      <svg viewBox="0 0 20 20" className="mt-0.5 size-4 shrink-0" aria-hidden="true">
        <circle cx="10" cy="10" r="8" fill="none" stroke="currentColor" strokeWidth="1.5" />
        <path d="M10 9v5M10 6.2v.1" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />
      </svg>
      <p>{children}</p>
    </div>
  );
}
