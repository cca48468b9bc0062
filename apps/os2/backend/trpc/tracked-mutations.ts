/**
 * Registry of tRPC mutations that become PostHog events, and the capture step the tRPC middleware runs after
 * a mutation succeeds.
 *
 * This file knows procedure paths as strings but does not import tRPC: the middleware passes `path`, the
 * parsed input, the output and the context ids, so the capture logic is testable without a router.
 *
 * To track a new mutation, add a `registerTrackedMutation("router.procedure", …)` call below. Its
 * `extractProperties` receives `unknown` (the middleware sees every procedure's input), so it parses with zod
 * `.safeParse` and returns `{}` when the shape does not match. Return ids, slugs, types and booleans only:
 * never names or values a user typed as secrets. `dropSensitiveProperties` runs afterwards as a second filter
 * on property names, but it cannot see inside a value.
 */
import { z } from "zod";

import type { AnalyticsGroups, ServerAnalytics } from "../analytics/server-analytics.ts";

export interface TrackedMutation {
  /** snake_case, past tense: `project_created`. */
  eventName: string;
  extractProperties?: (input: unknown, output: unknown) => Record<string, unknown>;
}

const registry = new Map<string, TrackedMutation>();

/** Throws on a second registration of a path: two registrations would mean two events per mutation. */
export function registerTrackedMutation(path: string, mutation: TrackedMutation): void {
  if (registry.has(path)) {
    throw new Error(`Tracked mutation "${path}" is registered twice; keep one registerTrackedMutation call for it`);
  }
  registry.set(path, mutation);
}

export function getTrackedMutation(path: string): TrackedMutation | undefined {
  return registry.get(path);
}

/** Every registered path, for tests and docs. */
export function listTrackedMutations(): string[] {
  return [...registry.keys()];
}

export interface TrackedMutationContext {
  /** null for a mutation without a signed-in user; such mutations are not captured (no one to attribute). */
  userId: string | null;
  organizationId?: string;
  projectId?: string;
}

export interface CaptureTrackedMutationInput {
  analytics: ServerAnalytics;
  /** The tRPC procedure path, e.g. `project.create`. */
  path: string;
  input: unknown;
  output: unknown;
  ctx: TrackedMutationContext;
}

/**
 * Captures the registered event for a mutation that has **succeeded**; the caller must not call it on
 * failure. Returns "untracked" for paths with no registration, so the middleware can call it for every
 * mutation, and "anonymous" (nothing sent) when there is no user. Never throws: analytics must not turn a successful mutation into an error.
 *
 * Groups come from the context. When the context does not know them yet (creating an organization or a
 * project), the extracted `organization_id` / `project_id` properties stand in.
 */
export function captureTrackedMutation({
  analytics,
  path,
  input,
  output,
  ctx,
}: CaptureTrackedMutationInput): "captured" | "untracked" | "anonymous" {
  const mutation = registry.get(path);
  if (mutation === undefined) return "untracked";
  if (ctx.userId === null) return "anonymous";

  let properties: Record<string, unknown>;
  try {
    properties = mutation.extractProperties?.(input, output) ?? {};
  } catch {
    // An extractor bug loses the properties, not the event (nor the mutation's result).
    properties = {};
  }
  const groups: AnalyticsGroups = {
    organization: ctx.organizationId ?? stringProperty(properties, "organization_id"),
    project: ctx.projectId ?? stringProperty(properties, "project_id"),
  };
  analytics.capture({ distinctId: ctx.userId, event: mutation.eventName, properties, groups });
  return "captured";
}

function stringProperty(properties: Record<string, unknown>, name: string): string | undefined {
  const value = properties[name];
  return typeof value === "string" ? value : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Registrations. Input schemas list only the fields read here; zod objects ignore the rest.

const projectScope = z.object({ organizationSlug: z.string(), projectSlug: z.string() });
/** Outputs are parsed separately from inputs: an id in the output is a bonus, not a requirement. */
const withId = z.object({ id: z.string() });

function scopeProperties(scope: z.infer<typeof projectScope>): Record<string, unknown> {
  return { organization_slug: scope.organizationSlug, project_slug: scope.projectSlug };
}

function outputId(output: unknown, name: string): Record<string, unknown> {
  const parsed = withId.safeParse(output);
  return parsed.success ? { [name]: parsed.data.id } : {};
}

registerTrackedMutation("organization.create", {
  eventName: "organization_created",
  extractProperties: (_input, output) => {
    const parsed = z.object({ id: z.string(), slug: z.string() }).safeParse(output);
    if (!parsed.success) return {};
    return { organization_id: parsed.data.id, organization_slug: parsed.data.slug };
  },
});

registerTrackedMutation("project.create", {
  eventName: "project_created",
  extractProperties: (input, output) => {
    const parsed = z.object({ organizationSlug: z.string() }).safeParse(input);
    if (!parsed.success) return {};
    const slug = z.object({ slug: z.string() }).safeParse(output);
    return {
      organization_slug: parsed.data.organizationSlug,
      ...outputId(output, "project_id"),
      ...(slug.success ? { project_slug: slug.data.slug } : {}),
    };
  },
});

registerTrackedMutation("project.update", {
  eventName: "project_updated",
  extractProperties: (input) => {
    const parsed = projectScope
      .extend({ name: z.string().optional(), newSlug: z.string().optional() })
      .safeParse(input);
    if (!parsed.success) return {};
    // Which fields changed, never their new values.
    const updatedFields = [
      ...(parsed.data.name === undefined ? [] : ["name"]),
      ...(parsed.data.newSlug === undefined ? [] : ["slug"]),
    ];
    return { ...scopeProperties(parsed.data), updated_fields: updatedFields };
  },
});

registerTrackedMutation("project.delete", {
  eventName: "project_deleted",
  extractProperties: (input, output) => {
    const parsed = projectScope.safeParse(input);
    return parsed.success ? { ...scopeProperties(parsed.data), ...outputId(output, "project_id") } : {};
  },
});

registerTrackedMutation("machine.create", {
  eventName: "machine_created",
  extractProperties: (input, output) => {
    const parsed = projectScope.extend({ type: z.string() }).safeParse(input);
    if (!parsed.success) return {};
    return { ...scopeProperties(parsed.data), machine_type: parsed.data.type, ...outputId(output, "machine_id") };
  },
});

const machineScope = projectScope.extend({ machineId: z.string().optional() });

function machineProperties(input: unknown): Record<string, unknown> {
  const parsed = machineScope.safeParse(input);
  if (!parsed.success) return {};
  return {
    ...scopeProperties(parsed.data),
    ...(parsed.data.machineId === undefined ? {} : { machine_id: parsed.data.machineId }),
  };
}

registerTrackedMutation("machine.archive", { eventName: "machine_archived", extractProperties: machineProperties });
registerTrackedMutation("machine.delete", { eventName: "machine_deleted", extractProperties: machineProperties });

/**
 * Env var events carry only whether the variable overrides a project variable for one machine. The key is
 * left out as well as the value: names like `STRIPE_LIVE_KEY` say what a project holds.
 */
registerTrackedMutation("envVar.set", {
  eventName: "env_var_set",
  extractProperties: (input) => {
    const parsed = z.object({ machineId: z.string().nullish() }).safeParse(input);
    if (!parsed.success) return {};
    return { is_machine_override: parsed.data.machineId !== undefined && parsed.data.machineId !== null };
  },
});
// envVar.delete takes only the variable's id, so whether it was a machine override is not known here.
registerTrackedMutation("envVar.delete", { eventName: "env_var_deleted" });

// Access token events carry nothing of their own: the output of create holds the plaintext token, and the
// token's name is free text. The project group says where it happened.
registerTrackedMutation("accessToken.create", { eventName: "access_token_created" });
registerTrackedMutation("accessToken.revoke", { eventName: "access_token_revoked" });
