/**
 * `pnpm bench:boot`: how long a machine of the sandbox image takes from `docker run` to its first 200 from
 * /api/health, against the floor: a bare Node HTTP server started from the same image. Both are measured the
 * same way (`docker run -d -p 127.0.0.1:0:3000`, `docker port`, then polling every 10 ms), interleaved so
 * that background noise hits all alike. The sandbox runs twice: hardened as os2 runs machines (non-root,
 * capabilities dropped, limits, a network without inter-container traffic) and as a plain `docker run`.
 * Prints p50/p95 of each and their ratios to the floor (goal for the hardened one: ≤ 1.5 at p50).
 *
 * Env: LOCAL_DOCKER_IMAGE_NAME (default iterate-sandbox:local), BENCH_BOOT_RUNS (default 12, at least 10).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

import { parseEnv } from "../backend/env.ts";
import { MACHINE_USER, PROFILE_CAPABILITIES } from "../backend/providers/local-docker/container-config.ts";
import { httpStatus, percentile } from "../test-support/http-status.ts";

const execFileAsync = promisify(execFile);
const image = process.env.LOCAL_DOCKER_IMAGE_NAME || "iterate-sandbox:local";
const runs = Math.max(10, Number(process.env.BENCH_BOOT_RUNS ?? 12));
const label = `os2-bench.boot=${randomBytes(6).toString("hex")}`;
const BARE_SERVER = `require("http").createServer((q, s) => s.end("ok")).listen(3000)`;

const docker = async (...args: string[]) => (await execFileAsync("docker", args)).stdout.trim();

const network = `os2-bench-${randomBytes(4).toString("hex")}`;
const env = parseEnv(process.env);
/** What os2 gives a machine by default (local-docker's container spec): the hardened profile and limits. */
const hardened = [
  "--user",
  MACHINE_USER,
  "--cap-drop",
  "ALL",
  ...PROFILE_CAPABILITIES[env.OS2_MACHINE_PROFILE].flatMap((capability) => ["--cap-add", capability]),
  ...(env.OS2_MACHINE_PROFILE === "strict" ? ["--security-opt", "no-new-privileges:true"] : []),
  "--cpus",
  String(env.OS2_MACHINE_CPUS / 1000),
  "--memory",
  `${env.OS2_MACHINE_MEMORY}m`,
  "--memory-swap",
  `${env.OS2_MACHINE_MEMORY}m`,
  "--pids-limit",
  String(env.OS2_MACHINE_PIDS),
  "--network",
  network,
];

type Variant = { name: string; runArgs: string[] };
const variants: Variant[] = [
  {
    name: `sandbox, hardened (${env.OS2_MACHINE_PROFILE})`,
    runArgs: [...hardened, "-e", "MACHINE_AUTH_TOKEN=bench", image],
  },
  { name: "sandbox, plain docker run", runArgs: ["-e", "MACHINE_AUTH_TOKEN=bench", image] },
  { name: "floor (bare node http server)", runArgs: ["--entrypoint", "node", image, "-e", BARE_SERVER] },
];

/** One boot: milliseconds from invoking `docker run` to the first HTTP 200 on the published port. */
async function measureBoot(variant: Variant): Promise<number> {
  const started = performance.now();
  const id = await docker("run", "-d", "--label", label, "-p", "127.0.0.1:0:3000", ...variant.runArgs);
  const port = (await docker("port", id, "3000/tcp")).split("\n")[0]?.split(":").pop();
  const url = variant.name.startsWith("floor") ? `http://127.0.0.1:${port}/` : `http://127.0.0.1:${port}/api/health`;
  const deadline = started + 15_000;
  while (performance.now() < deadline) {
    if ((await httpStatus(url, { timeoutMs: 500 })) === 200) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${variant.name}: no 200 from ${url} within 15 s (container ${id}: docker logs ${id})`);
}

async function removeContainers(): Promise<void> {
  const ids = (await docker("ps", "-aq", "--filter", `label=${label}`)).split("\n").filter(Boolean);
  if (ids.length) await docker("rm", "-f", ...ids);
}

async function main(): Promise<void> {
  await docker("image", "inspect", image).catch(() => {
    throw new Error(`image ${image} not found; build it with: pnpm snapshot:local-docker`);
  });
  console.log(`bench:boot — ${image}, ${runs} runs each (+1 warm-up), interleaved`);
  await docker("network", "create", "-o", "com.docker.network.bridge.enable_icc=false", network);
  const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  try {
    for (const variant of variants) await measureBoot(variant); // warm-up: page cache, image layers
    await removeContainers();
    for (let i = 0; i < runs; i++) {
      for (const variant of variants) samples.get(variant.name)?.push(await measureBoot(variant));
      await removeContainers(); // keep the engine's load the same for every run
    }
  } finally {
    await removeContainers();
    await docker("network", "rm", network).catch(() => undefined);
  }
  const stats = variants.map((v) => {
    const sorted = [...(samples.get(v.name) ?? [])].sort((a, b) => a - b);
    return { name: v.name, p50: percentile(sorted, 50), p95: percentile(sorted, 95), min: sorted[0] ?? NaN };
  });
  for (const s of stats)
    console.log(
      `${s.name.padEnd(36)} p50 ${s.p50.toFixed(0).padStart(5)} ms   p95 ${s.p95.toFixed(0).padStart(5)} ms   min ${s.min.toFixed(0).padStart(5)} ms`,
    );
  const [sandbox, plain, floor] = stats;
  if (sandbox && plain && floor) {
    console.log(
      `ratio hardened sandbox/floor: p50 ${(sandbox.p50 / floor.p50).toFixed(2)} (goal ≤ 1.5), p95 ${(sandbox.p95 / floor.p95).toFixed(2)}`,
    );
    console.log(
      `ratio plain sandbox/floor:    p50 ${(plain.p50 / floor.p50).toFixed(2)}, p95 ${(plain.p95 / floor.p95).toFixed(2)}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(`[bench:boot] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
