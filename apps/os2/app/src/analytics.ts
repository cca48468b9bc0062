/**
 * The SPA's analytics seam: posthog-js behind five calls that the routes make at the right moments (route
 * change, auth layout, organization and project routes, sign-out). See DESIGN.md "Analytics".
 *
 * - **No key, no calls.** Without `VITE_POSTHOG_PUBLIC_KEY` at build time, `initAnalytics` returns before
 *   posthog-js is even loaded (it is a separate chunk, fetched only when the key is set), and every other
 *   function is a no-op. No config, flags or asset request is ever made.
 * - Events go to `VITE_POSTHOG_PROXY_URI` (default `/ingest`, os2's own proxy to PostHog), with session
 *   replay on (it starts once the remote config enables it) and `$environment` from `VITE_APP_STAGE`.
 * - Calls made before the chunk has loaded are queued in order on one promise, so the first pageview and
 *   the first identify are not lost.
 * - Identify and group calls are de-duplicated here: routes re-run their effects on every navigation, and
 *   posthog-js sends a `$set` or `$groupidentify` event for every call, even an unchanged one.
 *
 * Keep the signatures: callers depend on them.
 */
import type { PostHog } from "posthog-js";

export type AnalyticsUser = { id: string; email: string; name: string };
export type AnalyticsOrganization = { id: string; slug: string; name: string };
export type AnalyticsProject = { id: string; slug: string; name: string; organizationId: string };

// Literal `import.meta.env.VITE_…` reads: Vite replaces exactly these at build time.
const publicKey = readBuildEnv(import.meta.env.VITE_POSTHOG_PUBLIC_KEY);
const apiHost = readBuildEnv(import.meta.env.VITE_POSTHOG_PROXY_URI) || "/ingest";
// vite.config.ts fills VITE_APP_STAGE with the server's stage when it is not set; "unknown" is a last resort.
const environment = readBuildEnv(import.meta.env.VITE_APP_STAGE) || "unknown";

/** null until `initAnalytics` runs with a key; then every call is chained on it, in call order. */
let client: Promise<PostHog> | null = null;

/** What this page has already sent, so repeated calls with the same values send nothing. */
let identified: { id: string; email: string; name: string } | null = null;
let organizationGroup: { id: string; properties: string } | null = null;
let projectGroup: { id: string; organizationId: string; properties: string } | null = null;

/** Starts posthog-js when the build has a public key; call once, before the app renders. */
export function initAnalytics(): void {
  if (publicKey === "" || client !== null) return;
  client = import("posthog-js").then(({ default: posthog }) => {
    posthog.init(publicKey, {
      api_host: apiHost,
      // The router reports every route change (trackPageview); automatic capture would double the first one.
      capture_pageview: false,
      capture_pageleave: true,
      disable_session_recording: false,
      // Runs before the first request and the first event, so every event carries the stage.
      loaded: (instance) => instance.register({ $environment: environment }),
      before_send: (event) => {
        if (event !== null) dropSearchFromCurrentUrl(event.properties);
        return event;
      },
    });
    return posthog;
  });
  // A chunk that fails to load (offline, blocked) must not surface as an unhandled rejection on every call.
  client.catch((error: unknown) => console.warn("Analytics could not start:", error));
}

/** Runs `action` once posthog-js is loaded. Analytics never breaks the app: a throwing call is dropped. */
function withPostHog(action: (posthog: PostHog) => void): void {
  if (client === null) return;
  client.then(action).catch(() => undefined);
}

/** Called on every resolved route change with the new path (no search string: it may hold secrets). */
export function trackPageview(path: string): void {
  if (client === null) return;
  const leftProject = projectGroup !== null && !PROJECT_PATH.test(path);
  const leftOrganization = organizationGroup !== null && !ORGANIZATION_PATH.test(path);
  if (leftOrganization) dropGroups("all");
  else if (leftProject) dropGroups("project");
  withPostHog((posthog) => {
    posthog.capture("$pageview", { $current_url: `${window.location.origin}${path}`, $pathname: path });
  });
}

/** Called by the auth-required layout once the signed-in user is known. Identify by internal id. */
export function identifyUser(user: AnalyticsUser): void {
  if (client === null) return;
  const previous = identified;
  if (previous?.id === user.id && previous.email === user.email && previous.name === user.name) return;
  identified = { id: user.id, email: user.email, name: user.name };
  const properties = { email: user.email, name: user.name };
  withPostHog((posthog) => {
    // Same user, new email or name (edited in settings): update the person, do not identify again.
    if (previous?.id === user.id) posthog.setPersonProperties(properties);
    else posthog.identify(user.id, properties);
  });
}

/** Called when an organization route loads: `group("organization", id)`. */
export function setOrganizationGroup(organization: AnalyticsOrganization): void {
  if (client === null) return;
  const properties = { name: organization.name, slug: organization.slug };
  const serialized = JSON.stringify(properties);
  if (organizationGroup?.id === organization.id && organizationGroup.properties === serialized) return;
  // A project of another organization must not stay attached to this organization's events.
  if (projectGroup !== null && projectGroup.organizationId !== organization.id) dropGroups("project");
  organizationGroup = { id: organization.id, properties: serialized };
  withPostHog((posthog) => posthog.group("organization", organization.id, properties));
}

/** Called when a project route loads: `group("project", id)`. */
export function setProjectGroup(project: AnalyticsProject): void {
  if (client === null) return;
  const properties = { name: project.name, slug: project.slug, organization_id: project.organizationId };
  const serialized = JSON.stringify(properties);
  if (projectGroup?.id === project.id && projectGroup.properties === serialized) return;
  projectGroup = { id: project.id, organizationId: project.organizationId, properties: serialized };
  withPostHog((posthog) => posthog.group("project", project.id, properties));
}

/** Called on sign-out (and when impersonation starts or stops) so the next user starts clean. */
export function resetAnalytics(): void {
  if (client === null) return;
  identified = null;
  organizationGroup = null;
  projectGroup = null;
  withPostHog((posthog) => {
    // New anonymous id, new session, no groups. reset() also drops super properties: restore the stage.
    posthog.reset();
    posthog.register({ $environment: environment });
  });
}

// Route shapes from routes/organization.tsx (`/orgs/$org`) and routes/project.tsx (`…/projects/$project`).
// Leaving them drops the group, so pages outside a project (or outside any organization) are not attributed
// to the one visited last. Groups are set again by the layouts' effects when the user comes back.
const ORGANIZATION_PATH = /^\/orgs\/[^/]+(?:\/|$)/;
const PROJECT_PATH = /^\/orgs\/[^/]+\/projects\/[^/]+(?:\/|$)/;

function dropGroups(which: "project" | "all"): void {
  const keptOrganization = which === "project" ? organizationGroup : null;
  projectGroup = null;
  organizationGroup = keptOrganization;
  withPostHog((posthog) => {
    // posthog-js can only clear all groups at once. Re-attach the organization by registering `$groups`,
    // which is all group() does locally: group() itself would send another $groupidentify (even without
    // properties) and reload flags.
    posthog.resetGroups();
    if (keptOrganization !== null) posthog.register({ $groups: { organization: keptOrganization.id } });
  });
}

/** `$current_url` is captured from window.location on every event; the search string may hold secrets. */
function dropSearchFromCurrentUrl(properties: Record<string, unknown>): void {
  const url = properties.$current_url;
  if (typeof url !== "string") return;
  const end = url.search(/[?#]/);
  if (end !== -1) properties.$current_url = url.slice(0, end);
}

function readBuildEnv(value: unknown): string {
  return typeof value === "string" ? value.trim() : "";
}
