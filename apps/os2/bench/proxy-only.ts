/**
 * `pnpm bench:proxy`: only the proxy measures of `pnpm bench:machines` (the dashboard door against the
 * daemon's no-work answer, the preview door against a no-work app inside one machine, each with a bare Node
 * keep-alive proxy for scale), for iterating on the proxy without the create benchmarks' minutes.
 */
import { createTestOs2 } from "../backend/testing/harness.ts";
import { removeContainersOfStage, setUpProject } from "../backend/testing/machine-fixtures.ts";
import { benchDashboardDoor } from "./dashboard-door.ts";
import { benchPreviewDoor } from "./preview-door.ts";

const image = process.env.LOCAL_DOCKER_IMAGE_NAME || "iterate-sandbox:local";
const t = await createTestOs2({ env: { LOCAL_DOCKER_IMAGE_NAME: image } });
const stage = t.os2.deps.stage;
try {
  const fx = await setUpProject(t, "bench-proxy+test@example.com");
  const base = await t.listen();
  const machine = await fx.api.machine.create.mutate({ ...fx.scope, name: "bench-proxy", type: "local-docker" });
  for (let i = 0; ; i++) {
    const row = await fx.api.machine.byId.query({ ...fx.scope, machineId: machine.id });
    if (row.observedState === "running") break;
    if (row.observedState === "error" || i > 600) throw new Error(`machine not running: ${row.lastError}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const info = await fx.api.machine.getPreviewInfo.query({ ...fx.scope, machineId: machine.id });
  if (!info.directUrl || !info.proxyPath) throw new Error("the machine has no daemon address yet");
  await benchDashboardDoor({
    daemonHostPort: Number(new URL(info.directUrl).port),
    os2Url: base,
    proxyPath: info.proxyPath,
    cookie: fx.cookie,
  });
  const { token } = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "bench previews" });
  await benchPreviewDoor({
    machineId: machine.id,
    os2Url: base,
    previewOriginFor: (machineId, port) => t.os2.previewOrigin.urlFor(machineId, port),
    accessToken: token,
  });
} finally {
  await t.close();
  await removeContainersOfStage(stage);
}
