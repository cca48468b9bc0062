/**
 * `pnpm bench:start`: the production server's process start → first 200 from /api/health, for what
 * `pnpm start` runs now (the bundle, `node dist-server/entry.js`) against what it ran before (`tsx
 * backend/entry.ts`, compiling TypeScript at every start), interleaved in one run so that background noise
 * hits both alike. Each variant has its own PGlite data dir, initialised by an untimed first start, so the
 * timed starts are restarts of an installation (the common case). Prints p50/p95 of each and the ratio.
 *
 * Beside the wall time it prints the CPU time the server process had used by its first answer (all its
 * threads, from /proc on Linux): on a shared machine the wall time mostly measures the neighbours, the CPU
 * time what a start costs. The load average is printed with the figures.
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

/** Clock ticks per second of /proc/<pid>/stat's times (100 on Linux everywhere in practice). */
const clockTicks = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** pid → [parent pid, CPU ms] of every process, from /proc; empty off Linux. */
function processTable(): Map<number, [number, number]> {
  const table = new Map<number, [number, number]>();
  const entries = fs.existsSync("/proc") ? fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name)) : [];
  for (const name of entries) {
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      // Fields after the command (which may contain spaces): state, ppid, … utime (14th), stime (15th).
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      table.set(Number(name), [Number(fields[1]), ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks]);
    } catch {
      // The process ended meanwhile.
    }
  }
  return table;
}

/**
 * CPU milliseconds (user + system, all threads) used by a process and its descendants (tsx's CLI runs
 * the server as a child of its own); undefined off Linux.
 */
function cpuMs(pid: number | undefined): number | undefined {
  const table = processTable();
  if (pid === undefined || !table.has(pid)) return undefined;
  let total = 0;
  const pending = [pid];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    total += table.get(next)?.[1] ?? 0;
    for (const [child, [parent]] of table) if (parent === next) pending.push(child);
  }
  return total;
}

type Sample = { wallMs: number; cpuMs: number | undefined };

/** One start: milliseconds from spawn to the first 200 from /api/health, and the CPU used by then. */
async function measureStart(variant: Variant): Promise<Sample> {
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
        return { wallMs: performance.now() - started, cpuMs: cpuMs(child.pid) };
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
  const loadBefore = os.loadavg()[0] ?? 0;
  const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
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
    const wall = values.map((sample) => sample.wallMs);
    const cpu = values.flatMap((sample) => (sample.cpuMs === undefined ? [] : [sample.cpuMs]));
    return {
      name: v.name,
      p50: percentile(wall, 50),
      p95: percentile(wall, 95),
      cpu: cpu.length > 0 ? `   cpu p50 ${percentile(cpu, 50).toFixed(0).padStart(5)} ms` : "",
    };
  });
  console.log(
    `load average (1 min) ${loadBefore.toFixed(1)} before, ${(os.loadavg()[0] ?? 0).toFixed(1)} after, on ${os.cpus().length} cores`,
  );
  for (const s of stats)
    console.log(
      `${s.name.padEnd(36)} p50 ${s.p50.toFixed(0).padStart(5)} ms   p95 ${s.p95.toFixed(0).padStart(5)} ms${s.cpu}`,
    );
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
