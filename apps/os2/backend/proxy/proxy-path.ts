/**
 * Parsing of machine proxy paths. Who may use them is decided by the access service (services/access.ts),
 * the same one the API uses.
 */
export type MachineAddress = { organizationSlug: string; projectSlug: string; machineId: string };

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
