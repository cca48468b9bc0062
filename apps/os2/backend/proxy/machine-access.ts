/**
 * Who may reach a machine through the proxy: a signed-in member of the machine's organization, or an
 * access token of the machine's project. Everyone else gets 404 (or 401 when no credential was sent), so
 * the proxy never confirms that another organization's machine exists.
 */
import { and, eq } from "drizzle-orm";
import type { Auth } from "../auth/auth.ts";
import type { Db } from "../db/client.ts";
import { machine } from "../db/schema/machine.ts";
import { organization } from "../db/schema/organization.ts";
import { project } from "../db/schema/project.ts";
import { authenticateAccessToken } from "../services/access-tokens.ts";
import { findOrganizationMembership } from "../services/organizations.ts";
import type { Machine } from "../services/machines/machine-service.ts";

export type MachineAddress = { organizationSlug: string; projectSlug: string; machineId: string };
export type MachineAccess = { status: "ok"; machine: Machine } | { status: "unauthorized" } | { status: "not_found" };

export async function resolveMachineAccess(
  deps: { db: Db; auth: Auth },
  headers: Headers,
  address: MachineAddress,
): Promise<MachineAccess> {
  const authorization = headers.get("authorization") ?? "";
  let organizationId: string | null = null;
  let tokenProjectId: string | null = null;
  if (authorization.toLowerCase().startsWith("bearer ")) {
    const token = await authenticateAccessToken(deps.db, authorization.slice(7).trim());
    if (!token) return { status: "unauthorized" };
    tokenProjectId = token.projectId;
    const [org] = await deps.db.select().from(organization).where(eq(organization.slug, address.organizationSlug));
    organizationId = org?.id ?? null;
  } else {
    const session = await deps.auth.api.getSession({ headers });
    if (!session) return { status: "unauthorized" };
    const membership = await findOrganizationMembership(deps.db, { slug: address.organizationSlug, userId: session.user.id });
    organizationId = membership?.organization.id ?? null;
  }
  if (!organizationId) return { status: "not_found" };
  const [row] = await deps.db
    .select({ machine })
    .from(machine)
    .innerJoin(project, eq(project.id, machine.projectId))
    .where(
      and(eq(machine.id, address.machineId), eq(project.slug, address.projectSlug), eq(project.organizationId, organizationId)),
    );
  if (!row || row.machine.desiredState === "deleted") return { status: "not_found" };
  if (tokenProjectId && tokenProjectId !== row.machine.projectId) return { status: "not_found" };
  return { status: "ok", machine: row.machine };
}

/** `/org/:org/proj/:project/:machine/proxy/:port/<rest>` */
export const PROXY_PATH = /^\/org\/([^/]+)\/proj\/([^/]+)\/([^/]+)\/proxy\/(\d{1,5})(\/.*)?$/;

export function parseProxyPath(pathname: string): (MachineAddress & { port: number; rest: string }) | null {
  const match = PROXY_PATH.exec(pathname);
  if (!match) return null;
  const [, organizationSlug, projectSlug, machineId, port, rest] = match;
  if (!organizationSlug || !projectSlug || !machineId || !port) return null;
  const portNumber = Number(port);
  if (portNumber < 1 || portNumber > 65535) return null;
  return {
    organizationSlug: decodeURIComponent(organizationSlug),
    projectSlug: decodeURIComponent(projectSlug),
    machineId: decodeURIComponent(machineId),
    port: portNumber,
    rest: rest ?? "/",
  };
}
