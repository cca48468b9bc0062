/**
 * `pnpm bench:machines`: os2's machine path against baselines measured in the same run.
 *  1. create → `running` (daemon healthy, as the dashboard shows it) for N machines, one at a time, against
 *     the floor: `docker run -d -p 127.0.0.1:0:3000 <image> node -e <http server>` → first 200. Goal ≤ 1.4× at p50.
 *     Also against the same bare server isolated as a machine is (its network, user, capabilities and limits:
 *     local-docker's own isolationHostConfig), which splits the gap into what isolation costs the engine
 *     and what os2 adds on top (its daemon, s6, the control plane).
 *  2. The dashboard door (dashboard-door.ts) against the daemon's no-work answer (an in-memory 404) at its
 *     published port directly, with a bare Node keep-alive proxy for scale. Goal: ≤ 0.5 ms added at p50.
 *  3. The preview door (preview-door.ts): an app on port 8080 inside the machine, at the container's bridge
 *     address directly vs through its preview origin with the project's access token. Goals: ≤ 0.5 ms added
 *     per request at p50, ≥ 90% of direct throughput (100 KiB bodies, 16 concurrent clients).
 *  4. 20 concurrent creates: all must reach `running`; prints p50/p95.
 *  5. Exec round trip: `exec(true)` through the SDK (HTTP API → proxy → daemon) against `docker exec <container>
 *     true` on the same machine. Goal: the SDK faster at p50.
 *  6. Time to interactive, as the public sandbox benchmarks define it: the SDK's `create()` until the first
 *     command's result returns, p50 and p95 over 20 runs, one at a time.
 *  7. The warm pool (warm-pool.ts): create → `running` and time to interactive, warm, and 20 concurrent
 *     creates with a pool of 5 (then cold).
 * Timings are printed, never asserted: these machines are noisy, so read the ratios.
 *
 * Env: LOCAL_DOCKER_IMAGE_NAME (default iterate-sandbox:local), BENCH_MACHINES_RUNS (default 10).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

import { Os2 } from "@os2/sdk";

import { parseEnv } from "../backend/env.ts";
import { isolationHostConfig, MACHINE_USER } from "../backend/providers/local-docker/container-config.ts";
import { createTestOs2 } from "../backend/testing/harness.ts";
import { docker, removeContainersOfStage, setUpProject } from "../backend/testing/machine-fixtures.ts";
import { httpStatus, percentile } from "../test-support/http-status.ts";
import { benchDashboardDoor } from "./dashboard-door.ts";
import { benchPreviewDoor } from "./preview-door.ts";
import { benchWarmPool } from "./warm-pool.ts";

const image = process.env.LOCAL_DOCKER_IMAGE_NAME || "iterate-sandbox:local";
const runs = Math.max(10, Number(process.env.BENCH_MACHINES_RUNS ?? 10));
const BARE_SERVER = `require("http").createServer((q, s) => s.end("ok")).listen(3000)`;

const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
const run = promisify(execFile);

const env = parseEnv(process.env);
/** What a machine's container gets besides its image and command: os2's network, limits and capabilities. */
const ISOLATED = isolationHostConfig({
  limits: {
    cpuMillis: env.OS2_MACHINE_CPUS,
    memoryMb: env.OS2_MACHINE_MEMORY,
    pids: env.OS2_MACHINE_PIDS,
    diskMb: null,
  },
  profile: env.OS2_MACHINE_PROFILE,
  network: env.OS2_MACHINE_NETWORK,
  runtime: env.OS2_MACHINE_RUNTIME,
  diskQuota: false,
});

/** `isolated`: the bare server in a container isolated as a machine is (run after a create made the network). */
async function floorBoot(options: { isolated?: boolean } = {}): Promise<number> {
  const started = performance.now();
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ["node", "-e", BARE_SERVER],
    Labels: { "os2-bench": "floor" },
    ...(options.isolated ? { User: MACHINE_USER } : {}),
    HostConfig: {
      ...(options.isolated ? ISOLATED : {}),
      PortBindings: { "3000/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] },
    },
    ExposedPorts: { "3000/tcp": {} },
  });
  await container.start();
  const info = await container.inspect();
  const port = info.NetworkSettings.Ports["3000/tcp"]?.[0]?.HostPort;
  while (performance.now() - started < 15_000) {
    if ((await httpStatus(`http://127.0.0.1:${port}/`, { timeoutMs: 500 })) === 200) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const elapsed = performance.now() - started;
  await container.remove({ force: true });
  return elapsed;
}

async function main() {
  const t = await createTestOs2({ env: { LOCAL_DOCKER_IMAGE_NAME: image } });
  const stage = t.os2.deps.stage;
  const fx = await setUpProject(t, "bench+test@example.com");
  const base = await t.listen();

  // Polls every 5 ms for one machine; a burst polls every 50 ms, so that 20 waiting clients do not add
  // thousands of requests a second to the machine they measure.
  const waitRunning = async (machineId: string, started: number, pollMs = 5) => {
    for (;;) {
      const machine = await fx.api.machine.byId.query({ ...fx.scope, machineId });
      if (machine.observedState === "running") return performance.now() - started;
      if (machine.observedState === "error") throw new Error(`machine ${machineId} failed: ${machine.lastError}`);
      if (performance.now() - started > 60_000) throw new Error(`machine ${machineId} not running after 60 s`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  };

  const summary: SummaryRow[] = [];
  try {
    // 1. create → running vs the docker run floor, interleaved so noise hits both alike.
    const floor: number[] = [];
    const isolatedFloor: number[] = [];
    const create: number[] = [];
    for (let i = 0; i < runs; i++) {
      floor.push(await floorBoot());
      const started = performance.now();
      const machine = await fx.api.machine.create.mutate({ ...fx.scope, name: `bench-${i}`, type: "local-docker" });
      create.push(await waitRunning(machine.id, started));
      isolatedFloor.push(await floorBoot({ isolated: true }));
      if (i < runs - 1) await fx.api.machine.delete.mutate({ ...fx.scope, machineId: machine.id });
    }
    console.log(`\ncreate → running over ${runs} machines (one at a time)`);
    console.log(
      `  floor (docker run → first 200): p50 ${fmt(percentile(floor, 50))}  p95 ${fmt(percentile(floor, 95))}`,
    );
    console.log(
      `  os2 create → running:           p50 ${fmt(percentile(create, 50))}  p95 ${fmt(percentile(create, 95))}`,
    );
    console.log(
      `  floor isolated as a machine:     p50 ${fmt(percentile(isolatedFloor, 50))}  p95 ${fmt(percentile(isolatedFloor, 95))}`,
    );
    console.log(`  ratio at p50: ${(percentile(create, 50) / percentile(floor, 50)).toFixed(2)}×  (goal ≤ 1.4×)`);
    console.log(
      `  of the gap, isolation (network, user, capabilities, limits) is ${fmt(percentile(isolatedFloor, 50) - percentile(floor, 50))}; os2's own part (daemon, s6, control plane) ${fmt(percentile(create, 50) - percentile(isolatedFloor, 50))}`,
    );
    summary.push({
      measure: "create → `running`, cold (p50)",
      figure: `${fmt(percentile(create, 50))} vs floor ${fmt(percentile(floor, 50))} = ${(percentile(create, 50) / percentile(floor, 50)).toFixed(2)}× (floor isolated as a machine: ${fmt(percentile(isolatedFloor, 50))}, ${(percentile(create, 50) / percentile(isolatedFloor, 50)).toFixed(2)}×)`,
      goal: "≤ 1.4× the `docker run` floor",
    });

    // 2. and 3. The proxy's own cost against no-work endpoints, on the last machine.
    const [machine] = (await fx.api.machine.list.query(fx.scope)).machines;
    if (!machine) throw new Error("no machine left for the proxy benchmark");
    summary.push(...(await benchProxy(t, fx, base, machine.id)));
    await fx.api.machine.delete.mutate({ ...fx.scope, machineId: machine.id });

    // 4. 20 concurrent creates.
    const started = performance.now();
    const burst = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const m = await fx.api.machine.create.mutate({ ...fx.scope, name: `burst-${i}`, type: "local-docker" });
        return { id: m.id, ms: await waitRunning(m.id, started, 50) };
      }),
    );
    const times = burst.map((b) => b.ms);
    for (const b of burst) await fx.api.machine.delete.mutate({ ...fx.scope, machineId: b.id });
    // The same burst of bare `docker run`s, for scale: what this engine and these cores do at best.
    const floorStarted = performance.now();
    const floorBurst = await Promise.all(Array.from({ length: 20 }, () => floorBoot()));
    const floorWall = performance.now() - floorStarted;
    console.log(
      `\n20 concurrent creates: ${burst.length}/20 reached running; p50 ${fmt(percentile(times, 50))}, p95 ${fmt(percentile(times, 95))}, last ${fmt(Math.max(...times))}`,
    );
    console.log(
      `  floor, 20 concurrent docker run → first 200: p50 ${fmt(percentile(floorBurst, 50))}, p95 ${fmt(percentile(floorBurst, 95))} (all in ${fmt(floorWall)})`,
    );
    summary.push({
      measure: "20 concurrent creates (p95)",
      figure: `${fmt(percentile(times, 95))} (${burst.length}/20 running); 20 concurrent docker run floor ${fmt(percentile(floorBurst, 95))}`,
      goal: "≤ 5 s",
    });

    // 5. and 6., through the SDK with a project access token, as a script would.
    const { token: sdkToken } = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "bench sdk" });
    const os2 = new Os2({ baseUrl: base, token: sdkToken });
    const target = await os2.machines.create({ name: "bench-exec", wait: true });
    const row = await fx.api.machine.byId.query({ ...fx.scope, machineId: target.id });
    const container = row.externalId ?? "";
    const dockerHost = process.env.DOCKER_HOST ?? "tcp://127.0.0.1:2375";
    const dockerExec: number[] = [];
    const sdkExec: number[] = [];
    for (let i = 0; i < 50; i++) {
      let started = performance.now();
      await run("docker", ["-H", dockerHost, "exec", container, "true"]);
      dockerExec.push(performance.now() - started);
      started = performance.now();
      const result = await target.exec("true");
      if (result.exitCode !== 0) throw new Error(`exec true exited ${result.exitCode}`);
      sdkExec.push(performance.now() - started);
    }
    console.log(`
exec round trip of \`true\` (50 runs, interleaved)`);
    console.log(
      `  docker exec <container> true: p50 ${percentile(dockerExec, 50).toFixed(1)} ms  p95 ${percentile(dockerExec, 95).toFixed(1)} ms`,
    );
    console.log(
      `  SDK machine.exec("true"):     p50 ${percentile(sdkExec, 50).toFixed(1)} ms  p95 ${percentile(sdkExec, 95).toFixed(1)} ms`,
    );
    console.log(`  ratio at p50: ${(percentile(sdkExec, 50) / percentile(dockerExec, 50)).toFixed(2)}×  (goal < 1×)`);
    await target.delete();

    const tti: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const machine = await os2.machines.create({ name: `bench-tti-${i}`, wait: true });
      await machine.exec("true");
      tti.push(performance.now() - started);
      await machine.delete();
    }
    console.log(`
time to interactive (SDK create() → first command's result), 20 runs one at a time`);
    console.log(
      `  p50 ${fmt(percentile(tti, 50))}  p95 ${fmt(percentile(tti, 95))}  (Daytona's published best: 186 / 492 ms)`,
    );
    summary.push({
      measure: "create → first exec result (time to interactive)",
      figure: `p50 ${fmt(percentile(tti, 50))}, p95 ${fmt(percentile(tti, 95))}`,
      goal: "warm: ≤ 150 ms / ≤ 300 ms",
    });
    // 7. The warm pool (bench/warm-pool.ts), on an os2 of its own with a pool of 5.
    summary.push(...(await benchWarmPool(image, runs)));
    printSummary(summary);
  } finally {
    await t.close();
    await removeContainersOfStage(stage);
  }
}

type SummaryRow = { measure: string; figure: string; goal: string };

/**
 * The proxy rows: the dashboard door against the daemon's no-work answer, and the preview door against a
 * no-work app inside the machine (latency and 100 KiB throughput), each with a bare Node keep-alive proxy
 * measured alongside.
 */
async function benchProxy(
  t: Awaited<ReturnType<typeof createTestOs2>>,
  fx: Awaited<ReturnType<typeof setUpProject>>,
  base: string,
  machineId: string,
): Promise<SummaryRow[]> {
  const info = await fx.api.machine.getPreviewInfo.query({ ...fx.scope, machineId });
  if (!info.directUrl || !info.proxyPath) throw new Error(`machine ${machineId} has no daemon address yet`);
  const daemonHostPort = Number(new URL(info.directUrl).port);
  const dashboard = await benchDashboardDoor({
    daemonHostPort,
    os2Url: base,
    proxyPath: info.proxyPath,
    cookie: fx.cookie,
  });
  const { token } = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "bench previews" });
  const preview = await benchPreviewDoor({
    machineId,
    os2Url: base,
    previewOriginFor: (id, port) => t.os2.previewOrigin.urlFor(id, port),
    accessToken: token,
  });
  const added = (ms: number, direct: number) => `+${(ms - direct).toFixed(2)} ms (${(ms / direct).toFixed(2)}× direct)`;
  const pct = (share: number) => `${(share * 100).toFixed(0)}%`;
  return [
    {
      measure: "proxy latency added, dashboard door → daemon no-work answer (p50)",
      figure: `${added(dashboard.doorMs, dashboard.directMs)}; bare Node proxy +${dashboard.bareAddedMs.toFixed(2)} ms`,
      goal: "≤ 0.5 ms",
    },
    {
      measure: "proxy latency added, preview door → no-work app (p50)",
      figure: `${added(preview.previewMs, preview.directMs)}; bare Node proxy +${preview.bareAddedMs.toFixed(2)} ms`,
      goal: "≤ 0.5 ms",
    },
    {
      measure: "proxy throughput, 100 KiB responses (preview door)",
      figure: `${pct(preview.previewShare)} of direct; bare Node proxy ${pct(preview.bareShare)}`,
      goal: "≥ 90%",
    },
  ];
}

function printSummary(rows: SummaryRow[]): void {
  console.log("\n| measure | figure | goal |\n|---|---|---|");
  for (const row of rows) console.log(`| ${row.measure} | ${row.figure} | ${row.goal} |`);
}

await main();
