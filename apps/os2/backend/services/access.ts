/**
 * The one answer to "who is calling, and may they reach this organization, project or machine, with which
 * role?". The tRPC middlewares and the machine proxy both ask here, so a session and a project access token
 * are resolved the same way everywhere, and every role rule lives in `PERMISSIONS` below.
 *
 * Anything in an organization the caller does not belong to is `not_found`, never `forbidden`, so the
 * answer never confirms that another organization's resource exists.
 */
import { and, eq } from "drizzle-orm";

import type { Auth } from "../auth/auth.ts";
import type { Db } from "../db/client.ts";
import { machine } from "../db/schema/machine.ts";
import { organization, organizationMembership, type OrganizationRole } from "../db/schema/organization.ts";
import { project } from "../db/schema/project.ts";
import { ACCESS_CACHE_MS, AccessCache, sessionKey } from "./access-cache.ts";
import { authenticateAccessToken } from "./access-tokens.ts";
import { DomainError } from "./errors.ts";
import type { Machine } from "./machines/machine-row.ts";
import type { Project } from "./projects.ts";

export type Organization = typeof organization.$inferSelect;

export type SessionUser = { id: string; email: string; name: string; role: string | null };

export type Caller =
  | { kind: "anonymous" }
  | { kind: "user"; user: SessionUser; impersonatedBy: string | null }
  | { kind: "token"; tokenId: string; projectId: string };

/** A member's role in the organization, or `token` for a project access token. */
export type ProjectRole = OrganizationRole | "token";

/**
 * What each role may do. Organization-level permissions need a signed-in member; a project access token
 * can use its own project (machines, env vars) but never manage tokens, the project or the organization.
 */
const PERMISSIONS = {
  "project.use": ["owner", "admin", "member", "token"],
  "tokens.manage": ["owner", "admin", "member"],
  "project.manage": ["owner", "admin"],
  "projects.create": ["owner", "admin"],
  "organization.update": ["owner", "admin"],
  "members.manage": ["owner", "admin"],
  "owners.manage": ["owner"],
  "organization.delete": ["owner"],
} as const satisfies Record<string, readonly ProjectRole[]>;

export type Permission = keyof typeof PERMISSIONS;

const DENIED: Record<Permission, string> = {
  "project.use": "Sign in or send a project access token.",
  "tokens.manage": "Access tokens cannot manage access tokens: sign in.",
  "project.manage": "Organization admins and owners only.",
  "projects.create": "Organization admins and owners only.",
  "organization.update": "Organization admins and owners only.",
  "members.manage": "Only organization admins and owners can manage members.",
  "owners.manage": "Only owners can grant, change or remove the owner role.",
  "organization.delete": "Only owners can delete an organization.",
};

export function can(role: ProjectRole, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly ProjectRole[]).includes(role);
}

/** Throws `forbidden` with a message that says who may, when the role lacks the permission. */
export function requirePermission(role: ProjectRole, permission: Permission): void {
  if (!can(role, permission)) throw new DomainError("forbidden", DENIED[permission]);
}

/**
 * Whether `actor` may give a member whose role is `target` the role `newRole` (or remove them, as
 * `newRole: "member"`). Admins manage members and admins; only owners touch the owner role.
 */
export function requireMayManageMember(actor: OrganizationRole, target: OrganizationRole, newRole: OrganizationRole) {
  requirePermission(actor, "members.manage");
  if (target === "owner" || newRole === "owner") requirePermission(actor, "owners.manage");
}

export type OrganizationAccess = { organization: Organization; role: OrganizationRole };
export type ProjectAccess = { organizationId: string; project: Project; role: ProjectRole };
export type MachineAccess = ProjectAccess & { machine: Machine };

type UserCaller = Extract<Caller, { kind: "user" }>;

/**
 * Where a forget comes from: a change made by this process ("here"), or one another instance sharing the
 * database made and announced (access-peers.ts: "peer"). Only the first is announced on.
 */
export type ForgetOrigin = "here" | "peer";

export class AccessService {
  /** How long an answer is reused (OS2_ACCESS_CACHE_MS); caches built on these answers keep theirs as long. */
  readonly cacheMs: number;
  /** Who each session is, and who may reach which project, for a moment (access-cache.ts: the bound). */
  private readonly sessions: AccessCache<UserCaller>;
  private readonly projects: AccessCache<ProjectAccess>;
  /** Caches of decisions built on these answers (the doors'), forgotten with them, and access-peers.ts. */
  private readonly forgetListeners: Array<(origin: ForgetOrigin) => void> = [];

  constructor(private readonly deps: { db: Db; auth: Auth; cacheMs?: number }) {
    this.cacheMs = deps.cacheMs ?? ACCESS_CACHE_MS;
    this.sessions = new AccessCache<UserCaller>({ ttlMs: this.cacheMs });
    this.projects = new AccessCache<ProjectAccess>({ ttlMs: this.cacheMs });
    deps.auth.onSessionsChanged(() => this.forget());
  }

  /** A bearer token (project access token) wins over cookies; otherwise the better-auth session, if any. */
  async identify(headers: Headers): Promise<Caller> {
    const authorization = headers.get("authorization") ?? "";
    if (authorization.toLowerCase().startsWith("bearer ")) {
      const token = await authenticateAccessToken(this.deps.db, authorization.slice(7).trim());
      return token ? { kind: "token", ...token } : { kind: "anonymous" };
    }
    const key = sessionKey(headers.get("cookie"));
    if (!key) return { kind: "anonymous" };
    return (await this.sessions.get(key, () => this.readSession(headers))) ?? { kind: "anonymous" };
  }

  /**
   * Forget every remembered answer: after a change made here (a rename, a role, a removed member, a
   * project's settings), the next request reads it again. The tRPC context calls it after every
   * successful mutation, the auth layer after every auth endpoint that may change a session; access-peers.ts
   * when another instance announces one of its own.
   */
  forget(origin: ForgetOrigin = "here"): void {
    this.sessions.clear();
    this.projects.clear();
    for (const listener of this.forgetListeners) listener(origin);
  }

  /** Calls `listener` at every `forget`: a cache of decisions made from this service's answers goes with them. */
  onForget(listener: (origin: ForgetOrigin) => void): void {
    this.forgetListeners.push(listener);
  }

  private async readSession(headers: Headers): Promise<{ value: UserCaller; expiresAt: Date } | null> {
    const session = await this.deps.auth.api.getSession({ headers });
    if (!session) return null;
    const { user } = session;
    return {
      value: {
        kind: "user",
        user: { id: user.id, email: user.email, name: user.name, role: user.role ?? null },
        impersonatedBy: session.session.impersonatedBy ?? null,
      },
      expiresAt: session.session.expiresAt,
    };
  }

  /** A signed-in member's organization and role. */
  async organization(caller: Caller, slug: string): Promise<OrganizationAccess> {
    if (caller.kind !== "user") throw new DomainError("unauthorized", "Sign in first (or send a valid session).");
    const found = await this.membership(slug, caller.user.id);
    if (!found) throw new DomainError("not_found", "Organization not found");
    return found;
  }

  /**
   * A member's session, or an access token of exactly this project; any other token is `not_found`. One
   * query: the organization by slug, the caller's membership (for a session) and the project by slug.
   */
  async project(caller: Caller, organizationSlug: string, projectSlug: string): Promise<ProjectAccess> {
    if (caller.kind === "anonymous") throw new DomainError("unauthorized", DENIED["project.use"]);
    const who = caller.kind === "user" ? `user ${caller.user.id}` : `token ${caller.tokenId}`;
    const access = await this.projects.get(`${who}\n${organizationSlug}\n${projectSlug}`, async () => {
      const found = await this.readProjectAccess(caller, organizationSlug, projectSlug);
      return found && { value: found };
    });
    if (!access) throw new DomainError("not_found", "Project not found");
    return access;
  }

  private async readProjectAccess(
    caller: Exclude<Caller, { kind: "anonymous" }>,
    organizationSlug: string,
    projectSlug: string,
  ): Promise<ProjectAccess | null> {
    const inOrganization = and(eq(project.organizationId, organization.id), eq(project.slug, projectSlug));
    let found: { organizationId: string; role: ProjectRole; project: Project | null } | undefined;
    if (caller.kind === "user") {
      [found] = await this.deps.db
        .select({ organizationId: organization.id, role: organizationMembership.role, project })
        .from(organization)
        .innerJoin(
          organizationMembership,
          and(
            eq(organizationMembership.organizationId, organization.id),
            eq(organizationMembership.userId, caller.user.id),
          ),
        )
        .leftJoin(project, inOrganization)
        .where(eq(organization.slug, organizationSlug));
    } else {
      const [row] = await this.deps.db
        .select({ organizationId: organization.id, project })
        .from(organization)
        .leftJoin(project, inOrganization)
        .where(eq(organization.slug, organizationSlug));
      found = row && { ...row, role: "token" };
    }
    if (!found?.project || (caller.kind === "token" && caller.projectId !== found.project.id)) return null;
    return { organizationId: found.organizationId, project: found.project, role: found.role };
  }

  /**
   * The project an access token names, with its organization: how the HTTP API (/api/v1), whose paths
   * carry no slugs, finds its scope. Only tokens: a session names no single project.
   */
  async tokenProject(caller: Caller): Promise<{ project: Project; organization: Organization }> {
    if (caller.kind !== "token") {
      throw new DomainError("unauthorized", "Send a project access token: Authorization: Bearer pat_…");
    }
    const [row] = await this.deps.db
      .select({ project, organization })
      .from(project)
      .innerJoin(organization, eq(organization.id, project.organizationId))
      .where(eq(project.id, caller.projectId));
    if (!row) throw new DomainError("unauthorized", "This access token's project no longer exists.");
    return row;
  }

  /** Project access plus the machine, which must belong to that project and not be deleted. */
  async machine(
    caller: Caller,
    address: { organizationSlug: string; projectSlug: string; machineId: string },
  ): Promise<MachineAccess> {
    const access = await this.project(caller, address.organizationSlug, address.projectSlug).catch((error: unknown) => {
      // The proxy path names a machine, so "project not found" reads as the machine not being there.
      if (error instanceof DomainError && error.kind === "not_found")
        throw new DomainError("not_found", "Machine not found");
      throw error;
    });
    const [row] = await this.deps.db
      .select()
      .from(machine)
      .where(and(eq(machine.id, address.machineId), eq(machine.projectId, access.project.id)));
    if (!row || row.desiredState === "deleted") throw new DomainError("not_found", "Machine not found");
    return { ...access, machine: row };
  }

  /**
   * Access to a machine named only by its id (the preview origin knows no slugs): a member of the
   * organization that owns it, or an access token of its project.
   */
  async machineById(caller: Caller, machineId: string): Promise<MachineAccess> {
    if (caller.kind === "anonymous") throw new DomainError("unauthorized", DENIED["project.use"]);
    const notFound = new DomainError("not_found", "Machine not found");
    const [row] = await this.deps.db
      .select({ machine, project })
      .from(machine)
      .innerJoin(project, eq(project.id, machine.projectId))
      .where(eq(machine.id, machineId));
    if (!row || row.machine.desiredState === "deleted") throw notFound;
    let role: ProjectRole;
    if (caller.kind === "token") {
      if (caller.projectId !== row.project.id) throw notFound;
      role = "token";
    } else {
      const [membership] = await this.deps.db
        .select({ role: organizationMembership.role })
        .from(organizationMembership)
        .where(
          and(
            eq(organizationMembership.organizationId, row.project.organizationId),
            eq(organizationMembership.userId, caller.user.id),
          ),
        );
      if (!membership) throw notFound;
      role = membership.role;
    }
    return { organizationId: row.project.organizationId, project: row.project, role, machine: row.machine };
  }

  private async membership(slug: string, userId: string): Promise<OrganizationAccess | null> {
    const [row] = await this.deps.db
      .select({ organization, role: organizationMembership.role })
      .from(organization)
      .innerJoin(
        organizationMembership,
        and(eq(organizationMembership.organizationId, organization.id), eq(organizationMembership.userId, userId)),
      )
      .where(eq(organization.slug, slug));
    return row ?? null;
  }
}
