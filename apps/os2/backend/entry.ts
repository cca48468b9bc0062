/**
 * Production entry: `pnpm start` (after `pnpm build`). Reads .env, validates the environment once, and
 * serves the API, the realtime socket and the built SPA from one Node process.
 *
 * Start-up order: opening the database is the slowest step (for PGlite: reading and compiling its wasm,
 * starting Postgres), so it starts first and the rest of the server (app.ts, a chunk of its own in the
 * bundle) loads meanwhile. The server listens as soon as it can answer every route (database open and
 * migrated, the app assembled); background work (reconcile passes, the warm pool) starts after that, so
 * it never competes with the first requests for the CPU or the embedded database. A start that fails
 * says why and exits non-zero.
 */
import "dotenv/config";

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { serveStatic } from "@hono/node-server/serve-static";

import type { Os2 } from "./app.ts";
import { openDatabase } from "./db/client.ts";
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
let os2: Os2;
try {
  const database = openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.OS2_DATA_DIR });
  // A failure to open is reported by createOs2's await below, not as an unhandled rejection meanwhile.
  database.catch(() => undefined);
  const { createOs2 } = await import("./app.ts");
  os2 = await createOs2({ env, log, database, startReconciler: false });
} catch (error) {
  log.error(`os2 could not start: ${error instanceof Error ? error.message : String(error)}`, {
    stack: error instanceof Error ? (error.stack ?? "") : "",
  });
  process.exit(1);
}
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
