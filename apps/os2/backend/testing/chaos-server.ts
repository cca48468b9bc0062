/**
 * A real os2 server process for the crash-safety test: same createOs2 as production, no SPA. The test kills
 * it with SIGKILL mid-operation. Prints "ready <port>" once listening, and "reconciled" after its first
 * reconcile pass and any boots that pass started have settled.
 */
import type { AddressInfo } from "node:net";

import { createOs2 } from "../app.ts";
import { parseEnv } from "../env.ts";
import { createLogger } from "../logger.ts";

const env = parseEnv(process.env);
const os2 = await createOs2({
  env,
  log: createLogger((line) => process.stderr.write(`${line}\n`)),
  startReconciler: false,
});
const server = os2.createServer();
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`ready ${(server.address() as AddressInfo).port}\n`);
});
if (process.env.CHAOS_RECONCILE === "1") {
  await os2.reconciler.reconcileOnce();
  await os2.machines.settle();
  process.stdout.write("reconciled\n");
}
