/**
 * Production entry: `pnpm start` (after `pnpm build`). Reads .env, validates the environment once, and
 * serves the API, the realtime socket and the built SPA from one Node process.
 *
 * Start-up order: the server listens as soon as it can answer every route (database open and migrated,
 * the app assembled); background work (reconcile passes, the warm pool) starts after that, so it never
 * competes with the first requests for the CPU or the embedded database.
 */
import "dotenv/config";

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { serveStatic } from "@hono/node-server/serve-static";

import { createOs2 } from "./app.ts";
import { parseEnv } from "./env.ts";
import { installProcessGuards, shutDownOnSignals } from "./http/lifecycle.ts";
import { createLogger } from "./logger.ts";

const env = parseEnv(process.env);
const distDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist");
if (!fs.existsSync(path.join(distDir, "index.html"))) {
  console.error(`The web app is not built (${distDir} is missing). Run: pnpm build`);
  process.exit(1);
}

const log = createLogger();
installProcessGuards(log);
const os2 = await createOs2({ env, log, startReconciler: false });
const root = path.relative(process.cwd(), distDir) || ".";
os2.app.use("/*", serveStatic({ root }));
// Client-side routes (/orgs/…, /login) all load the SPA shell.
os2.app.get("*", serveStatic({ root, path: "index.html" }));

const server = os2.createServer();
// A server that cannot listen (the port is taken, say) must not stay up half started.
const cannotListen = (error: Error) => {
  log.error(`cannot listen on ${env.HOST}:${env.PORT}: ${error.message}`);
  os2
    .close()
    .catch(() => undefined)
    .finally(() => process.exit(1));
};
server.once("error", cannotListen);
server.listen(env.PORT, env.HOST, () => {
  server.off("error", cannotListen);
  // performance.now() counts from the process's start.
  const startedIn = (performance.now() / 1000).toFixed(1);
  log.info(
    `os2 (${os2.deps.stage}) listening on ${os2.publicUrl}  [database: ${os2.database.kind}, started in ${startedIn} s]`,
  );
  os2.reconciler.start();
});
shutDownOnSignals({ server, os2, log });
