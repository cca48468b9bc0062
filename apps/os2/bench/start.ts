/**
 * `pnpm bench:start`: the production server's process start → first 200 from /api/health, for what
 * `pnpm start` runs now (the bundle, `node dist-server/entry.js`) against what it ran before (`tsx
 * backend/entry.ts`, compiling TypeScript at every start), interleaved in one run so that background noise
 * hits both alike. Each variant has its own PGlite data dir, initialised by an untimed first start, so the
 * timed starts are restarts of an installation (the common case). Prints p50/p95 of each and the ratio.
 *
 * Env: BENCH_START_RUNS (default 6, at least 3).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { ensureSpaBuilt, freePort, productionEnv } from "../backend/testing/production-server.ts";
import { httpStatus, percentile } from "../test-support/http-status.ts";

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const runs = Math.max(3, Number(process.env.BENCH_START_RUNS ?? 6));
const tsxCli = fileURLToPath(import.meta.resolve("tsx/cli"));

type Variant = { name: string; args: string[]; dataDir: string };
const variants: Variant[] = [
  { name: "built: node dist-server/entry.js", args: ["dist-server/entry.js"], dataDir: "" },
  { name: "before: tsx backend/entry.ts", args: [tsxCli, "backend/entry.ts"], dataDir: "" },
];

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** One start: milliseconds from spawn to the first 200 from /api/health. */
async function measureStart(variant: Variant): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, variant.args, {
    cwd: packageDir,
    env: {
      ...process.env,
      ...productionEnv({ OS2_DATA_DIR: variant.dataDir, DATABASE_URL: "" }),
      PORT: String(port),
      HOST: "127.0.0.1",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-5_000)));
  try {
    const deadline = started + 60_000;
    while (performance.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${variant.name} exited (${child.exitCode}):\n${stderr}`);
      if ((await httpStatus(`http://127.0.0.1:${port}/api/health`, { timeoutMs: 1_000 })) === 200)
        return performance.now() - started;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`${variant.name}: no 200 from /api/health within 60 s:\n${stderr}`);
  } finally {
    await stop(child);
  }
}

async function main(): Promise<void> {
  ensureSpaBuilt();
  execFileSync(process.execPath, [tsxCli, "scripts/build-server.ts"], { cwd: packageDir, stdio: "inherit" });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "os2-bench-start-"));
  for (const [i, variant] of variants.entries()) variant.dataDir = path.join(tmp, `data-${i}`);
  console.log(`bench:start — process start → first 200 from /api/health, ${runs} runs each (+1 untimed), interleaved`);
  const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  try {
    for (const variant of variants) await measureStart(variant); // initialises the data dir, warms the page cache
    for (let i = 0; i < runs; i++) {
      for (const variant of variants) samples.get(variant.name)?.push(await measureStart(variant));
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const stats = variants.map((v) => {
    const values = samples.get(v.name) ?? [];
    return { name: v.name, p50: percentile(values, 50), p95: percentile(values, 95) };
  });
  for (const s of stats)
    console.log(`${s.name.padEnd(36)} p50 ${s.p50.toFixed(0).padStart(5)} ms   p95 ${s.p95.toFixed(0).padStart(5)} ms`);
  const [built, before] = stats;
  if (built && before)
    console.log(
      `ratio built/tsx: p50 ${(built.p50 / before.p50).toFixed(2)}, p95 ${(built.p95 / before.p95).toFixed(2)}   (goal: built p50 ≤ 1500 ms)`,
    );
}

main().catch((error: unknown) => {
  console.error(`[bench:start] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
