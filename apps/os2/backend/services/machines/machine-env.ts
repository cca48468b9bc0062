/**
 * A machine's environment: the project's vars, then the machine's own overrides, then the system vars os2
 * owns (which user vars can never replace). The container is created with the system vars only; the whole
 * set reaches the daemon at every start (lifecycle `applyEnv`), so changes apply at the machine's next start.
 */
import type { Encryptor } from "../../crypto.ts";
import type { Db } from "../../db/client.ts";
import { resolveEnvForMachine } from "../env-vars.ts";

export async function buildMachineEnv(
  db: Db,
  encryptor: Encryptor,
  input: SystemEnvInput,
): Promise<Record<string, string>> {
  const userVars = await resolveEnvForMachine(db, encryptor, {
    projectId: input.projectId,
    machineId: input.machineId,
  });
  return { ...userVars, ...systemEnv(input) };
}

type SystemEnvInput = { machineId: string; projectId: string; stage: string; authToken: string };

/** The variables os2 sets on every machine; no user variable can replace them. */
export function systemEnv(input: SystemEnvInput): Record<string, string> {
  return {
    OS2_MACHINE_ID: input.machineId,
    OS2_PROJECT_ID: input.projectId,
    OS2_STAGE: input.stage,
    MACHINE_AUTH_TOKEN: input.authToken,
  };
}
