/**
 * tRPC setup: superjson (serialization.ts), one error-mapping middleware, the after-mutation hook, and the procedure tiers
 * (public → signed-in → organization member → organization admin; project; system admin).
 * A resource in an organization the caller does not belong to is NOT_FOUND, never FORBIDDEN.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import { z } from "zod";

import { type Permission, requirePermission } from "../services/access.ts";
import { asDomainError, type DomainErrorKind } from "../services/errors.ts";
import { DATABASE_OUTAGE_MESSAGE, isDatabaseOutage } from "../services/outages.ts";
import type { Context } from "./context.ts";
import { slugSchema } from "./schemas.ts";
import { transformer } from "./serialization.ts";

export type Meta = {
  /** Router names whose queries the SPA should refetch after this mutation. Defaults to the mutation's own router. */
  invalidates?: string[];
};

type Issue = { path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>; message: string };

/** Turns validation issues into one readable sentence naming each field, e.g. `name: Too long (max 100)`. */
export function formatIssues(issues: readonly Issue[]): string {
  return issues
    .map((issue) => {
      const path = (issue.path ?? []).map((part) => (typeof part === "object" ? String(part.key) : String(part)));
      return path.length > 0 ? `${path.join(".")}: ${issue.message}` : issue.message;
    })
    .join("; ");
}

function validationIssues(cause: unknown): Issue[] | null {
  if (cause && typeof cause === "object" && "issues" in cause && Array.isArray(cause.issues))
    return cause.issues as Issue[];
  return null;
}

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    transformer,
    // Self-hosters rarely set NODE_ENV=production; never send stack traces to clients either way.
    isDev: false,
    // Subscriptions are server-sent events; a ping every 10 s keeps idle streams open through proxies, and a
    // subscription generator is pulled only as fast as the response stream is read (backpressure).
    sse: { ping: { enabled: true, intervalMs: 10_000 }, client: { reconnectAfterInactivityMs: 25_000 } },
    errorFormatter({ shape, error }) {
      const { stack: _stack, ...data } = shape.data;
      const issues = error.code === "BAD_REQUEST" ? validationIssues(error.cause) : null;
      return issues
        ? { ...shape, message: `Invalid input: ${formatIssues(issues)}`, data: { ...data, issues } }
        : { ...shape, data };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

export const DOMAIN_ERROR_CODES = {
  not_found: "NOT_FOUND",
  conflict: "CONFLICT",
  precondition_failed: "PRECONDITION_FAILED",
  forbidden: "FORBIDDEN",
  bad_request: "BAD_REQUEST",
  unauthorized: "UNAUTHORIZED",
  timeout: "TIMEOUT",
  rate_limited: "TOO_MANY_REQUESTS",
  quota_exceeded: "FORBIDDEN",
  unavailable: "SERVICE_UNAVAILABLE",
} as const satisfies Record<DomainErrorKind, TRPCError["code"]>;

/** The single place where services' errors (their own and providers') become tRPC codes. */
const mapErrors = t.middleware(async ({ ctx, path, next }) => {
  const result = await next();
  if (result.ok) return result;
  const cause = result.error.cause;
  const domain = asDomainError(cause);
  if (domain) throw new TRPCError({ code: DOMAIN_ERROR_CODES[domain.kind], message: domain.message, cause: domain });
  if (isDatabaseOutage(cause)) {
    ctx.log.warn(`tRPC ${path}: the database is unreachable`, { error: String(cause?.message) });
    throw new TRPCError({ code: "SERVICE_UNAVAILABLE", message: DATABASE_OUTAGE_MESSAGE, cause });
  }
  if (result.error.code === "INTERNAL_SERVER_ERROR") {
    ctx.log.error(`tRPC ${path} failed`, { stack: (cause ?? result.error).stack });
    throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "Internal error; it has been logged." });
  }
  return result;
});

/** Realtime invalidations and analytics, only after the mutation succeeded. */
const afterMutation = t.middleware(async ({ ctx, path, type, meta, getRawInput, next }) => {
  const result = await next();
  if (type !== "mutation" || !result.ok) return result;
  const routerName = path.split(".")[0] ?? path;
  ctx.mutationObserver.onMutationSuccess({
    path,
    input: await getRawInput().catch(() => undefined),
    output: result.data,
    userId: ctx.user?.id ?? null,
    organizationId: ctx.scope.organizationId,
    projectId: ctx.scope.projectId,
    invalidates: meta?.invalidates ?? [routerName],
  });
  return result;
});

export const publicProcedure = t.procedure.use(mapErrors).use(afterMutation);

export const signedInProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in first (or send a valid session)." });
  return next({ ctx: { user: ctx.user } });
});

export const systemAdminProcedure = signedInProcedure.use(({ ctx, next }) => {
  // While impersonating, the session belongs to the impersonated user, so their role applies.
  if (ctx.user.role !== "admin") throw new TRPCError({ code: "FORBIDDEN", message: "System administrators only." });
  return next();
});

export const organizationInput = z.object({ organizationSlug: slugSchema });

export const organizationProcedure = signedInProcedure.input(organizationInput).use(async ({ ctx, input, next }) => {
  const found = await ctx.services.access.organization(ctx.caller, input.organizationSlug);
  ctx.scope.organizationId = found.organization.id;
  return next({ ctx: { organization: found.organization, role: found.role } });
});

/** An organization procedure for members whose role has `permission` (see services/access.ts). */
export function organizationProcedureFor(permission: Permission) {
  return organizationProcedure.use(({ ctx, next }) => {
    requirePermission(ctx.role, permission);
    return next();
  });
}

export const projectInput = z.object({ organizationSlug: slugSchema, projectSlug: slugSchema });

/**
 * A project procedure accepts a member's session or an access token of exactly this project. Any other
 * token gets NOT_FOUND, as if the project did not exist.
 */
export const projectProcedure = publicProcedure.input(projectInput).use(async ({ ctx, input, next }) => {
  const found = await ctx.services.access.project(ctx.caller, input.organizationSlug, input.projectSlug);
  ctx.scope.organizationId = found.organizationId;
  ctx.scope.projectId = found.project.id;
  return next({ ctx: { project: found.project, projectRole: found.role } });
});

/** A project procedure for callers whose role has `permission`; a signed-in member is then `ctx.user`. */
export function projectProcedureFor(permission: Exclude<Permission, "project.use">) {
  return projectProcedure.use(({ ctx, next }) => {
    requirePermission(ctx.projectRole, permission);
    if (!ctx.user) throw new TRPCError({ code: "FORBIDDEN", message: "Sign in: access tokens cannot do this." });
    return next({ ctx: { user: ctx.user } });
  });
}
