// Bundles the daemon into one ESM file, so the image runs it with plain `node` and installs nothing at boot.
// Usage: node build.mjs [outfile]   (default dist/daemon.mjs). OS2_BUILD_HASH, when set, is appended to the version.
import { readFileSync } from "node:fs";
import { build } from "esbuild";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));
const version = process.env.OS2_BUILD_HASH ? `${pkg.version}+${process.env.OS2_BUILD_HASH.slice(0, 12)}` : pkg.version;
const outfile = process.argv[2] ?? "dist/daemon.mjs";

await build({
  entryPoints: ["src/main.ts"],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  minify: true,
  legalComments: "none",
  define: { "process.env.OS2_DAEMON_VERSION": JSON.stringify(version) },
  // ws is CommonJS and requires Node built-ins; an ESM bundle needs a real `require` for them.
  banner: {
    js: "import { createRequire as __os2CreateRequire } from 'node:module'; const require = __os2CreateRequire(import.meta.url);",
  },
});
console.log(`[daemon] bundled ${version} -> ${outfile}`);
