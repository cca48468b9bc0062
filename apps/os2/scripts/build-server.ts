/**
 * `pnpm build` (after the SPA): bundles the production server, backend/entry.ts, into dist-server/entry.js so
 * that `pnpm start` runs plain JavaScript under Node instead of compiling TypeScript with tsx at every start.
 *
 * npm packages stay external: Node loads them from node_modules at run time, so PGlite finds its wasm and
 * data files and @scalar/api-reference its browser bundle next to their own code. Workspace packages
 * (@os2/protocol) export TypeScript source and are bundled. The SQL migrations are read from disk next to
 * the module that runs them (backend/db/client.ts: `<dir of the module>/migrations`), so they are copied to
 * dist-server/migrations. entry.ts serves the SPA from `<dir of the module>/../dist`, which is apps/os2/dist
 * from either place.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { build, type Plugin } from "esbuild";

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.join(packageDir, "dist-server");

/** Bare imports stay external unless they name a workspace package. */
const externalNpmPackages: Plugin = {
  name: "external-npm-packages",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("@os2/") ? undefined : { path: args.path, external: true },
    );
  },
};

const started = performance.now();
fs.rmSync(outDir, { recursive: true, force: true });
await build({
  entryPoints: [path.join(packageDir, "backend/entry.ts")],
  outfile: path.join(outDir, "entry.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20.19",
  sourcemap: "linked",
  logLevel: "warning",
  plugins: [externalNpmPackages],
});
fs.cpSync(path.join(packageDir, "backend/db/migrations"), path.join(outDir, "migrations"), { recursive: true });
console.log(`built dist-server/entry.js in ${(performance.now() - started).toFixed(0)} ms`);
