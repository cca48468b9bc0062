/**
 * The services the API layers (tRPC routers, the machine proxy) call, built once at the entry point with
 * their dependencies bound. Routers never see the database: each operation here names what it does, and
 * operations that span several parts (deleting a project deletes its machines first) are composed here.
 */
import type { Auth } from "../auth/auth.ts";
import type { Encryptor } from "../crypto.ts";
import type { Db } from "../db/client.ts";
import { AccessService } from "./access.ts";
import { createAccessToken, listAccessTokens, revokeAccessToken } from "./access-tokens.ts";
import { deleteEnvVar, listEnvVars, setEnvVar } from "./env-vars.ts";
import { IdempotencyKeys } from "./idempotency.ts";
import type { MachineService } from "./machines/machine-service.ts";
import { UsageWatcher } from "./machines/usage.ts";
import {
  addMember,
  createOrganization,
  deleteOrganization,
  listMembers,
  listOrganizationsForUser,
  removeMember,
  setOrganizationLimits,
  updateMemberRole,
  updateOrganization,
} from "./organizations.ts";
import { PreviewService } from "./previews.ts";
import { createProject, deleteProject, listProjects, updateProject } from "./projects.ts";
import { StreamSlots } from "./stream-slots.ts";
import { listOrganizationsForAdmin, listUsersForAdmin, renameUser } from "./users.ts";

export type Services = ReturnType<typeof createServices>;

export function createServices(deps: {
  db: Db;
  auth: Auth;
  encryptor: Encryptor;
  machines: MachineService;
  /** Open live streams allowed on this server, all callers together (OS2_MAX_LIVE_STREAMS). */
  maxLiveStreams?: number;
  /** How long access answers are reused (OS2_ACCESS_CACHE_MS). */
  accessCacheMs?: number;
}) {
  const { db, encryptor, machines } = deps;
  const access = new AccessService({ db, auth: deps.auth, cacheMs: deps.accessCacheMs });
  return {
    access,
    previews: new PreviewService({ db, access }),
    machines,
    /** Live CPU, memory, processes and disk of machines, re-checking the caller's access as it streams. */
    usage: new UsageWatcher({ access, machines, hub: machines.usageHub }),
    /** Open log and usage streams per user and per access token, capped (see stream-slots.ts). */
    streamSlots: new StreamSlots(undefined, deps.maxLiveStreams),
    /** Long polls of a machine's state (GET /api/v1/machines/{machine}?waitFor=), capped the same way. */
    machineWaits: new StreamSlots(undefined, deps.maxLiveStreams),
    idempotency: new IdempotencyKeys(db),
    users: {
      rename: (userId: string, name: string) => renameUser(db, userId, name),
    },
    admin: {
      users: () => listUsersForAdmin(db),
      organizations: () => listOrganizationsForAdmin(db),
      setOrganizationLimits: (organizationId: string, limits: Parameters<typeof setOrganizationLimits>[2]) =>
        setOrganizationLimits(db, organizationId, limits),
    },
    organizations: {
      create: (input: { userId: string; name: string; slug?: string | undefined }) => createOrganization(db, input),
      listForUser: (userId: string) => listOrganizationsForUser(db, userId),
      update: (organizationId: string, input: { name?: string | undefined; slug?: string | undefined }) =>
        updateOrganization(db, organizationId, input),
      /** Its machines and their containers go first, then the organization with everything in it. */
      delete: async (organizationId: string) => {
        const projects = await listProjects(db, organizationId);
        await machines.deleteAllInProjects(projects.map((project) => project.id));
        await deleteOrganization(db, organizationId);
      },
      /** What deleting the organization destroys: its machines, by project. */
      machines: async (organizationId: string) => {
        const projects = await listProjects(db, organizationId);
        const rows = await machines.listInProjects(projects.map((project) => project.id));
        const projectName = new Map(projects.map((project) => [project.id, project.name]));
        return rows.map((row) => ({ ...row, projectName: projectName.get(row.projectId) ?? "" }));
      },
      members: (organizationId: string) => listMembers(db, organizationId),
      addMember: (input: Parameters<typeof addMember>[1]) => addMember(db, input),
      updateMemberRole: (input: Parameters<typeof updateMemberRole>[1]) => updateMemberRole(db, input),
      removeMember: (input: Parameters<typeof removeMember>[1]) => removeMember(db, input),
    },
    projects: {
      list: (organizationId: string) => listProjects(db, organizationId),
      create: (input: { organizationId: string; name: string }) => createProject(db, input),
      update: (projectId: string, input: { name?: string | undefined; slug?: string | undefined }) =>
        updateProject(db, projectId, input),
      /** What deleting the project destroys: its machines, archived ones included. */
      machines: (projectId: string) => machines.listInProjects([projectId]),
      /** Its machines and their containers go first, then the project with its env vars and tokens. */
      delete: async (projectId: string) => {
        await machines.deleteAllInProjects([projectId]);
        await deleteProject(db, projectId);
      },
    },
    envVars: {
      list: (projectId: string) => listEnvVars(db, encryptor, projectId),
      set: (input: Parameters<typeof setEnvVar>[2]) => setEnvVar(db, encryptor, input),
      delete: (input: { projectId: string; id: string }) => deleteEnvVar(db, input),
    },
    accessTokens: {
      list: (projectId: string) => listAccessTokens(db, projectId),
      create: (input: Parameters<typeof createAccessToken>[1]) => createAccessToken(db, input),
      revoke: (input: { projectId: string; id: string }) => revokeAccessToken(db, input),
    },
  };
}
