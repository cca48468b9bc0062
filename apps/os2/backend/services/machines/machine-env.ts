/**
 * The environment a machine boots with: the project's vars, then the machine's own overrides, then the
 * system vars os2 owns (which user vars can never replace). Changes apply at the machine's next start.
 */
import type { Encryptor } from "../../crypto.ts";
import type { Db } from "../../db/client.ts";
import { resolveEnvForMachine } from "../env-vars.ts";

export async function buildMachineEnv(
  db: Db,
  encryptor: Encryptor,
  input: { machineId: string; projectId: string; stage: string; authToken: string },
): Promise<Record<string, string>> {
  const userVars = await resolveEnvForMachine(db, encryptor, {
    projectId: input.projectId,
    machineId: input.machineId,
  });
  return {
    ...userVars,
    OS2_MACHINE_ID: input.machineId,
    OS2_PROJECT_ID: input.projectId,
    OS2_STAGE: input.stage,
    MACHINE_AUTH_TOKEN: input.authToken,
  };
}
