/**
 * A real os2 for end-to-end tests: the production entry (what `pnpm start` runs) on a free port with its
 * own stage, data directory and embedded database, an owner signed in, an organization and project, and a
 * project access token. `stop()` kills the server and removes every container of the stage, so a failed run
 * leaves nothing behind. Needs Docker at tcp://127.0.0.1:2375 and the sandbox image
 * (`pnpm snapshot:local-docker`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { removeContainersOfStage } from "../../../apps/os2/backend/testing/machine-fixtures.ts";
import {
  ensureSpaBuilt,
  freePort,
  killServer,
  productionEnv,
  serverClient,
  signInTo,
  startProductionServer,
  waitUntilServing,
} from "../../../apps/os2/backend/testing/production-server.ts";

export type RunningOs2 = { url: string; token: string; output(): string; stop(): Promise<void> };

export async function startOs2(label: string): Promise<RunningOs2> {
  ensureSpaBuilt();
  const stage = `local-${label}-${Math.random().toString(36).slice(2, 8)}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `os2-${label}-`));
  const server = startProductionServer(productionEnv({ APP_STAGE: stage, OS2_DATA_DIR: dataDir }), await freePort());
  const stop = async () => {
    await killServer(server);
    await removeContainersOfStage(stage);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitUntilServing(server);
    const cookie = await signInTo(server.url, `${label}+test@example.com`);
    const api = serverClient(server.url, cookie);
    const org = await api.organization.create.mutate({ name: `${label} org` });
    const project = await api.project.create.mutate({ organizationSlug: org.slug, name: `${label} project` });
    const { token } = await api.accessToken.create.mutate({
      organizationSlug: org.slug,
      projectSlug: project.slug,
      name: label,
    });
    return { url: server.url, token, output: server.output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
