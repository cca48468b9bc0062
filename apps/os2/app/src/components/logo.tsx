import { clsx } from "clsx";

export function Logo({ className }: { className?: string }) {
  return (
    <span className={clsx("inline-flex items-center gap-2 font-semibold tracking-tight text-zinc-900", className)}>
      <svg viewBox="0 0 32 32" className="size-7" aria-hidden="true">
        <rect width="32" height="32" rx="8" className="fill-accent-600" />
        <path d="M9 11.5h14M9 16h10M9 20.5h6" stroke="#fff" strokeWidth="2.5" strokeLinecap="round" />
      </svg>
      os2
    </span>
  );
}
