import { clsx } from "clsx";
import { type ComponentProps, type ReactNode, type SelectHTMLAttributes, useId } from "react";

const CONTROL =
  "block w-full rounded-md border border-zinc-300 bg-white px-3 py-2 text-sm text-zinc-900 shadow-sm placeholder:text-zinc-400 " +
  "focus:border-accent-500 focus:outline-2 focus:outline-offset-0 focus:outline-accent-500/30 disabled:bg-zinc-100 disabled:text-zinc-500 " +
  "aria-[invalid=true]:border-red-400";

export function inputClasses(className?: string) {
  return clsx(CONTROL, className);
}

type FieldProps = {
  label: string;
  hint?: ReactNode;
  error?: string | null;
  className?: string;
};

/** A labelled input with an optional hint and an inline error, wired together for screen readers. */
export function TextField({
  label,
  hint,
  error,
  className,
  ...input
}: FieldProps & Omit<ComponentProps<"input">, "className">) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  return (
    <div className={clsx("space-y-1.5", className)}>
      <label htmlFor={id} className="block text-sm font-medium text-zinc-800">
        {label}
      </label>
      <input
        id={id}
        className={clsx(CONTROL, "h-[38px]")}
        aria-invalid={error ? true : undefined}
        aria-describedby={clsx(hintId, errorId) || undefined}
        {...input}
      />
      {hint ? (
        <p id={hintId} className="text-xs text-zinc-500">
          {hint}
        </p>
      ) : null}
      {error ? <ErrorText id={errorId}>{error}</ErrorText> : null}
    </div>
  );
}

export function SelectField({
  label,
  hint,
  error,
  className,
  children,
  ...select
}: FieldProps & Omit<SelectHTMLAttributes<HTMLSelectElement>, "className">) {
  const id = useId();
  return (
    <div className={clsx("space-y-1.5", className)}>
      <label htmlFor={id} className="block text-sm font-medium text-zinc-800">
        {label}
      </label>
      <select id={id} className={clsx(CONTROL, "h-[38px]")} aria-invalid={error ? true : undefined} {...select}>
        {children}
      </select>
      {hint ? <p className="text-xs text-zinc-500">{hint}</p> : null}
      {error ? <ErrorText>{error}</ErrorText> : null}
    </div>
  );
}

export function ErrorText({ children, id, className }: { children: ReactNode; id?: string; className?: string }) {
  return (
    <p id={id} role="alert" className={clsx("text-sm text-red-700", className)}>
      {children}
    </p>
  );
}
