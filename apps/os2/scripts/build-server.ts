/**
 * `pnpm build` (after the SPA): bundles the production server, backend/entry.ts, into dist-server/entry.js
 * (and the chunks it imports, beside it) so that `pnpm start` runs plain JavaScript under Node instead of
 * compiling TypeScript with tsx at every start.
 *
 * npm packages are bundled too: resolving and loading a thousand-odd files from node_modules one by one
 * costs Node's module loader about a second of CPU at every start, a few large files a fraction. A few
 * stay in node_modules, loaded from there at run time (they are all direct dependencies, so Node finds
 * them from dist-server/), each for a reason listed in `KEEP_EXTERNAL`. The bundle gets a CommonJS
 * `require` (the banner), which bundled CommonJS packages use for Node's built-in modules.
 *
 * The SQL migrations are read from disk next to the module that runs them (backend/db/client.ts: `<dir of
 * the module>/migrations`), so they are copied to dist-server/migrations. entry.ts serves the SPA from
 * `<dir of the module>/../dist`, which is apps/os2/dist from either place. @scalar/api-reference is not
 * imported at all: its browser bundle is read through `import.meta.resolve`, from node_modules.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { build, type Plugin } from "esbuild";

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.join(packageDir, "dist-server");

/** Packages Node loads from node_modules at run time instead of from the bundle, and why. */
const KEEP_EXTERNAL: Record<string, string> = {
  "@electric-sql/pglite": "reads its wasm and file-system bundle from files next to its own module",
  "@daytonaio/sdk":
    "imported on first use by a configured Daytona provider (about a second), never by a server without one",
  dockerode:
    "it and its dependencies (ssh2, @grpc/grpc-js) find files next to their own modules through __dirname " +
    "(dockerode's .proto files, for one), which bundled code would not",
  // Optional native speed-ups that ws tries to require and does without; not installed.
  bufferutil: "optional (ws)",
  "utf-8-validate": "optional (ws)",
};

const packageName = (specifier: string) =>
  specifier
    .split("/")
    .slice(0, specifier.startsWith("@") ? 2 : 1)
    .join("/");

const keepListedPackagesExternal: Plugin = {
  name: "keep-listed-packages-external",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, (args) =>
      packageName(args.path) in KEEP_EXTERNAL ? { path: args.path, external: true } : undefined,
    );
  },
};

const started = performance.now();
fs.rmSync(outDir, { recursive: true, force: true });
await build({
  entryPoints: [path.join(packageDir, "backend/entry.ts")],
  outdir: outDir,
  bundle: true,
  // entry.ts starts opening the database before it imports app.ts: that import is a chunk of its own,
  // loaded while the database opens. Chunks sit beside entry.js because bundled modules find files
  // relative to their own module (`<dir of the module>/migrations`, `<dir>/../dist`).
  splitting: true,
  chunkNames: "[name]-[hash]",
  platform: "node",
  format: "esm",
  target: "node20.19",
  sourcemap: "linked",
  logLevel: "warning",
  banner: {
    js: 'import { createRequire as __os2CreateRequire } from "node:module";\nconst require = __os2CreateRequire(import.meta.url);',
  },
  plugins: [keepListedPackagesExternal],
});
fs.cpSync(path.join(packageDir, "backend/db/migrations"), path.join(outDir, "migrations"), { recursive: true });
console.log(`built dist-server/entry.js in ${(performance.now() - started).toFixed(0)} ms`);
