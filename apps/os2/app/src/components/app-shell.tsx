/**
 * The signed-in frame: skip link, impersonation banner, a top bar with breadcrumbs (organization switcher,
 * project) and the account menu. On a phone the bar keeps the logo, the switcher and the menu; the page's own
 * tabs scroll sideways.
 */
import { useQuery } from "@tanstack/react-query";
import { Link, useNavigate, useParams } from "@tanstack/react-router";
import { clsx } from "clsx";
import { type ReactNode, useState } from "react";

import { errorMessage } from "../lib/errors.ts";
import { signOut, stopImpersonating } from "../lib/session.ts";
import { useTRPC } from "../lib/trpc.ts";
import { Logo } from "./logo.tsx";
import { OutageBanner } from "./outage-banner.tsx";
import { Button } from "./ui/button.tsx";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "./ui/dropdown-menu.tsx";

export type ShellUser = { id: string; name: string; email: string; role: string | null; impersonatedBy: string | null };

export function AppShell({ me, children }: { me: ShellUser; children: ReactNode }) {
  const params = useParams({ strict: false });
  return (
    <div className="flex min-h-screen flex-col">
      <a
        href="#main"
        className="sr-only z-50 rounded-md bg-white px-3 py-2 text-sm font-medium shadow focus:not-sr-only focus:fixed focus:top-2 focus:left-2"
      >
        Skip to content
      </a>
      {me.impersonatedBy ? <ImpersonationBanner me={me} /> : null}
      <OutageBanner />
      <header className="sticky top-0 z-30 border-b border-zinc-200 bg-white/95 backdrop-blur">
        <div className="mx-auto flex h-14 max-w-6xl items-center gap-1.5 px-3 sm:gap-2 sm:px-6">
          <Link to="/" className="shrink-0 rounded-md p-1" aria-label="os2 home">
            <Logo />
          </Link>
          <Divider />
          <OrganizationSwitcher currentSlug={params.org} />
          {params.org && params.project ? (
            <>
              <Divider className="hidden sm:block" />
              <ProjectCrumb organizationSlug={params.org} projectSlug={params.project} />
            </>
          ) : null}
          <nav aria-label="Account" className="ml-auto flex items-center gap-1">
            {me.role === "admin" ? (
              <Link
                to="/admin"
                className="hidden rounded-md px-2.5 py-1.5 text-sm font-medium text-zinc-600 hover:bg-zinc-100 hover:text-zinc-900 sm:block"
                activeProps={{ className: "bg-zinc-100 text-zinc-900" }}
              >
                Admin
              </Link>
            ) : null}
            <UserMenu me={me} />
          </nav>
        </div>
      </header>
      <main
        id="main"
        tabIndex={-1}
        className="mx-auto w-full max-w-6xl flex-1 px-4 py-6 focus:outline-none sm:px-6 sm:py-8"
      >
        {children}
      </main>
    </div>
  );
}

function Divider({ className }: { className?: string }) {
  return (
    <svg viewBox="0 0 12 24" className={clsx("h-5 w-3 shrink-0 text-zinc-300", className)} aria-hidden="true">
      <path d="M9 3 3 21" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" />
    </svg>
  );
}

function ChevronDown() {
  return (
    <svg viewBox="0 0 16 16" className="size-3.5 shrink-0 text-zinc-400" aria-hidden="true">
      <path
        d="m4 6 4 4 4-4"
        fill="none"
        stroke="currentColor"
        strokeWidth="1.5"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
    </svg>
  );
}

function OrganizationSwitcher({ currentSlug }: { currentSlug: string | undefined }) {
  const trpc = useTRPC();
  const organizations = useQuery(trpc.user.organizations.queryOptions());
  const current = organizations.data?.find((organization) => organization.slug === currentSlug);
  return (
    <DropdownMenu>
      <DropdownMenuTrigger
        className="flex max-w-[11rem] min-w-0 items-center gap-1.5 rounded-md px-2 py-1.5 text-sm font-medium text-zinc-800 hover:bg-zinc-100 sm:max-w-xs"
        aria-label={current ? `Organization: ${current.name}. Switch organization` : "Choose an organization"}
      >
        <span className="truncate">{current?.name ?? "Organizations"}</span>
        <ChevronDown />
      </DropdownMenuTrigger>
      <DropdownMenuContent align="start">
        <DropdownMenuLabel>Organizations</DropdownMenuLabel>
        {(organizations.data ?? []).map((organization) => (
          <DropdownMenuItem key={organization.id} asChild>
            <Link to="/orgs/$org" params={{ org: organization.slug }}>
              <span className="flex-1 truncate">{organization.name}</span>
              {organization.slug === currentSlug ? (
                <span className="text-accent-600" aria-label="current">
                  ✓
                </span>
              ) : null}
            </Link>
          </DropdownMenuItem>
        ))}
        <DropdownMenuSeparator />
        <DropdownMenuItem asChild>
          <Link to="/new-organization">New organization</Link>
        </DropdownMenuItem>
      </DropdownMenuContent>
    </DropdownMenu>
  );
}

function ProjectCrumb({ organizationSlug, projectSlug }: { organizationSlug: string; projectSlug: string }) {
  const trpc = useTRPC();
  const project = useQuery(trpc.project.bySlug.queryOptions({ organizationSlug, projectSlug }));
  return (
    <Link
      to="/orgs/$org/projects/$project"
      params={{ org: organizationSlug, project: projectSlug }}
      className="hidden max-w-xs truncate rounded-md px-2 py-1.5 text-sm font-medium text-zinc-800 hover:bg-zinc-100 sm:block"
    >
      {project.data?.name ?? projectSlug}
    </Link>
  );
}

function initials(name: string, email: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return (email[0] ?? "?").toUpperCase();
  return ((words[0]?.[0] ?? "") + (words.length > 1 ? (words[words.length - 1]?.[0] ?? "") : "")).toUpperCase();
}

function UserMenu({ me }: { me: ShellUser }) {
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  const onSignOut = async () => {
    try {
      await signOut();
      await navigate({ to: "/login" });
    } catch (caught) {
      setError(errorMessage(caught));
    }
  };
  return (
    <DropdownMenu>
      <DropdownMenuTrigger
        className="flex size-9 items-center justify-center rounded-full bg-zinc-900 text-xs font-semibold text-white hover:bg-zinc-700"
        aria-label="Account menu"
      >
        {initials(me.name, me.email)}
      </DropdownMenuTrigger>
      <DropdownMenuContent>
        <div className="px-2.5 py-2">
          <p className="truncate text-sm font-medium text-zinc-900">{me.name || me.email}</p>
          <p className="truncate text-xs text-zinc-500">{me.email}</p>
        </div>
        <DropdownMenuSeparator />
        <DropdownMenuItem asChild>
          <Link to="/user/settings">User settings</Link>
        </DropdownMenuItem>
        {me.role === "admin" ? (
          <DropdownMenuItem asChild>
            <Link to="/admin">Admin</Link>
          </DropdownMenuItem>
        ) : null}
        <DropdownMenuSeparator />
        <DropdownMenuItem onSelect={() => void onSignOut()}>Sign out</DropdownMenuItem>
      </DropdownMenuContent>
      {error ? (
        <p role="alert" className="max-w-40 text-xs text-red-700">
          {error}
        </p>
      ) : null}
    </DropdownMenu>
  );
}

function ImpersonationBanner({ me }: { me: ShellUser }) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const stop = async () => {
    setPending(true);
    try {
      await stopImpersonating();
    } catch (caught) {
      setError(errorMessage(caught));
      setPending(false);
    }
  };
  return (
    <div role="status" className="bg-amber-100 text-amber-950">
      <div className="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-2 px-4 py-2 text-sm sm:px-6">
        <p>
          You are impersonating <span className="font-semibold">{me.email}</span>.
          {error ? <span className="ml-2 text-red-700">{error}</span> : null}
        </p>
        <Button size="sm" variant="secondary" pending={pending} onClick={() => void stop()}>
          Stop impersonating
        </Button>
      </div>
    </div>
  );
}
