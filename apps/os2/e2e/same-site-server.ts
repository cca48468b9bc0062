/**
 * A second os2, for specs that need previews on the same *site* as the dashboard: the deployment shape
 * `app.example.com` + `{port}--{machine}.example.com`. In the default shape (`localhost` +
 * `*.localhost`) Chromium treats every preview host as a site of its own, so SameSite=Lax keeps the
 * dashboard's cookie off a preview page's requests by itself; only here does that cookie go along, which
 * is what the dashboard's Origin guard is for.
 *
 * The names resolve through Chromium's `--host-resolver-rules` (SAME_SITE.chromiumArgs), never through DNS.
 * It is an `os2-process.ts` server: its own port, PGlite directory and stage.
 */
import { CHROMIUM_ARGS } from "./chromium.ts";
import { E2E_PORT } from "./e2e-server.ts";
import { type Os2Process, startOs2Process } from "./os2-process.ts";

const port = E2E_PORT + 1;
const stage = "e2e-same-site";

export const SAME_SITE = {
  port,
  stage,
  dashboard: `http://app.os2.example.com:${port}`,
  previewTemplate: `http://{port}--{machine}.os2.example.com:${port}`,
  chromiumArgs: [...CHROMIUM_ARGS, "--host-resolver-rules=MAP *.os2.example.com 127.0.0.1"],
  previewOrigin: (machineId: string, machinePort: number) =>
    `http://${machinePort}--${machineId.replace(/^mach_/, "mach-")}.os2.example.com:${port}`,
};

export function startSameSiteServer(): Promise<Os2Process> {
  return startOs2Process({
    port,
    stage,
    dataDir: `.tmp/e2e-same-site-data-${port}`,
    publicUrl: SAME_SITE.dashboard,
    fresh: true,
    env: { OS2_PREVIEW_URL: SAME_SITE.previewTemplate },
  });
}
