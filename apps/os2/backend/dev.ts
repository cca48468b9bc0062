/**
 * `pnpm dev`: the same server as production, with Vite in middleware mode serving the SPA with hot reload
 * on the same port. Before starting, it checks the local sandbox image (see sandbox-image-check.ts).
 */
import "dotenv/config";

import { createServer } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { getRequestListener } from "@hono/node-server";
import { createServer as createViteServer } from "vite";

import { createOs2 } from "./app.ts";
import { checkSandboxImage } from "./dev-sandbox-image.ts";
import { parseEnv } from "./env.ts";
import { installProcessGuards, shutDownOnSignals } from "./http/lifecycle.ts";
import { createLogger } from "./logger.ts";
import { resolveDockerHost } from "./providers/local-docker/index.ts";

const env = parseEnv(process.env);
const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../app");

const log = createLogger();
installProcessGuards(log);
await checkSandboxImage({
  dockerHost: await resolveDockerHost(env.DOCKER_HOST),
  imageName: env.LOCAL_DOCKER_IMAGE_NAME,
  log,
});
const os2 = await createOs2({ env, log });
const server = createServer();
const vite = await createViteServer({
  configFile: path.join(appDir, "vite.config.ts"),
  root: appDir,
  server: { middlewareMode: true, hmr: { server } },
  appType: "spa",
});

const apiListener = getRequestListener(os2.app.fetch);
const SERVER_PREFIXES = ["/api/", "/ingest/"];
server.on("request", (request, response) => {
  // Preview hosts and machine proxy paths first; then the API, and Vite for the SPA.
  os2.handleRequest(request, response, () => {
    const url = request.url ?? "/";
    if (SERVER_PREFIXES.some((prefix) => url.startsWith(prefix))) {
      apiListener(request, response).catch((error: unknown) => console.error("serving a request failed", error));
    } else vite.middlewares(request, response);
  });
});
// Vite's own HMR socket (the dashboard's, not a machine's dev server behind a preview) is Vite's to take.
server.on("upgrade", (request, socket, head) => {
  const isDashboardHmr =
    !os2.previewOrigin.match(request.headers.host) && /vite-hmr/.test(request.headers["sec-websocket-protocol"] ?? "");
  if (!isDashboardHmr) os2.handleUpgrade(request, socket, head);
});

server.listen(env.PORT, env.HOST, () => {
  console.log(`os2 dev (${os2.deps.stage}) on ${os2.publicUrl}  [database: ${os2.database.kind}]`);
});

shutDownOnSignals({ server, os2, log, beforeClose: () => vite.close() });
