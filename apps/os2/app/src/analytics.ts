/**
 * The SPA's analytics seam. Every call site already runs at the right moment (route change, auth layout,
 * organization and project routes, sign-out); these are no-ops until posthog-js is wired in here
 * (only when VITE_POSTHOG_PUBLIC_KEY is set, api_host VITE_POSTHOG_PROXY_URI, `$environment` from
 * VITE_APP_STAGE — see DESIGN.md "Analytics"). Keep the signatures: callers depend on them.
 */

export type AnalyticsUser = { id: string; email: string; name: string };
export type AnalyticsOrganization = { id: string; slug: string; name: string };
export type AnalyticsProject = { id: string; slug: string; name: string; organizationId: string };

/** Called on every resolved route change with the new path (no search string: it may hold secrets). */
export function trackPageview(_path: string): void {}

/** Called by the auth-required layout once the signed-in user is known. Identify by internal id. */
export function identifyUser(_user: AnalyticsUser): void {}

/** Called when an organization route loads: `group("organization", id)`. */
export function setOrganizationGroup(_organization: AnalyticsOrganization): void {}

/** Called when a project route loads: `group("project", id)`. */
export function setProjectGroup(_project: AnalyticsProject): void {}

/** Called on sign-out (and when impersonation starts or stops) so the next user starts clean. */
export function resetAnalytics(): void {}
