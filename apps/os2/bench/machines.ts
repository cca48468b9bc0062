/**
 * `pnpm bench:machines`: os2's machine path against baselines measured in the same run.
 *  1. create → `running` (daemon healthy, as the dashboard shows it) for N machines, one at a time, against
 *     the floor: `docker run -d -p 127.0.0.1:0:3000 <image> node -e <http server>` → first 200. Goal ≤ 2× at p50.
 *  2. The daemon's HTTP latency and throughput through the os2 proxy against its published port directly.
 *     Goals: ≤ 1.3× latency at p50, ≥ 70% of direct throughput.
 *  3. The preview door (preview-door.ts): an app on port 8080 inside the machine, at the container's bridge
 *     address directly vs through its preview origin with the project's access token. Goals: ≤ 1 ms added
 *     per request at p50, ≥ 85% of direct throughput (100 KiB bodies, 16 concurrent clients).
 *  4. 20 concurrent creates: all must reach `running`; prints p50/p95.
 *  5. Exec round trip: `exec(true)` through the SDK (HTTP API → proxy → daemon) against `docker exec <container>
 *     true` on the same machine. Goal: the SDK faster at p50.
 *  6. Time to interactive, as the public sandbox benchmarks define it: the SDK's `create()` until the first
 *     command's result returns, p50 and p95 over 20 runs, one at a time.
 * Timings are printed, never asserted: these machines are noisy, so read the ratios.
 *
 * Env: LOCAL_DOCKER_IMAGE_NAME (default iterate-sandbox:local), BENCH_MACHINES_RUNS (default 10).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

import { Os2 } from "@os2/sdk";

import { createTestOs2 } from "../backend/testing/harness.ts";
import { docker, removeContainersOfStage, setUpProject } from "../backend/testing/machine-fixtures.ts";
import { httpStatus, percentile } from "../test-support/http-status.ts";
import { benchPreviewDoor } from "./preview-door.ts";

const image = process.env.LOCAL_DOCKER_IMAGE_NAME || "iterate-sandbox:local";
const runs = Math.max(10, Number(process.env.BENCH_MACHINES_RUNS ?? 10));
const BARE_SERVER = `require("http").createServer((q, s) => s.end("ok")).listen(3000)`;

const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
const run = promisify(execFile);

async function floorBoot(): Promise<number> {
  const started = performance.now();
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ["node", "-e", BARE_SERVER],
    Labels: { "os2-bench": "floor" },
    HostConfig: { PortBindings: { "3000/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] } },
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

  const waitRunning = async (machineId: string, started: number) => {
    for (;;) {
      const machine = await fx.api.machine.byId.query({ ...fx.scope, machineId });
      if (machine.observedState === "running") return performance.now() - started;
      if (machine.observedState === "error") throw new Error(`machine ${machineId} failed: ${machine.lastError}`);
      if (performance.now() - started > 60_000) throw new Error(`machine ${machineId} not running after 60 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  try {
    // 1. create → running vs the docker run floor, interleaved so noise hits both alike.
    const floor: number[] = [];
    const create: number[] = [];
    for (let i = 0; i < runs; i++) {
      floor.push(await floorBoot());
      const started = performance.now();
      const machine = await fx.api.machine.create.mutate({ ...fx.scope, name: `bench-${i}`, type: "local-docker" });
      create.push(await waitRunning(machine.id, started));
      if (i < runs - 1) await fx.api.machine.delete.mutate({ ...fx.scope, machineId: machine.id });
    }
    console.log(`\ncreate → running over ${runs} machines (one at a time)`);
    console.log(
      `  floor (docker run → first 200): p50 ${fmt(percentile(floor, 50))}  p95 ${fmt(percentile(floor, 95))}`,
    );
    console.log(
      `  os2 create → running:           p50 ${fmt(percentile(create, 50))}  p95 ${fmt(percentile(create, 95))}`,
    );
    console.log(`  ratio at p50: ${(percentile(create, 50) / percentile(floor, 50)).toFixed(2)}×  (goal ≤ 2×)`);

    // 2. Proxy vs direct, on the last machine.
    const [machine] = await fx.api.machine.list.query(fx.scope);
    if (!machine) throw new Error("no machine left for the proxy benchmark");
    const info = await fx.api.machine.getPreviewInfo.query({ ...fx.scope, machineId: machine.id });
    const directUrl = `${info.directUrl?.replace("localhost", "127.0.0.1")}/api/health`;
    const proxyUrl = `${base}${info.proxyPath}api/health`;
    const latency = async (url: string, headers: Record<string, string>) => {
      const samples: number[] = [];
      for (let i = 0; i < 300; i++) {
        const started = performance.now();
        if ((await httpStatus(url, { headers })) !== 200) throw new Error(`GET ${url} failed`);
        samples.push(performance.now() - started);
      }
      return samples;
    };
    const throughput = async (url: string, headers: Record<string, string>) => {
      let done = 0;
      const until = performance.now() + 3_000;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (performance.now() < until) if ((await httpStatus(url, { headers })) === 200) done += 1;
        }),
      );
      return done / 3;
    };
    const auth = { cookie: fx.cookie };
    await latency(directUrl, {});
    await latency(proxyUrl, auth); // warm both paths
    const direct = await latency(directUrl, {});
    const proxied = await latency(proxyUrl, auth);
    const directRps = await throughput(directUrl, {});
    const proxiedRps = await throughput(proxyUrl, auth);
    console.log(`\ndaemon GET /api/health, direct vs through the os2 proxy (session auth)`);
    console.log(
      `  latency p50: direct ${percentile(direct, 50).toFixed(2)} ms, proxy ${percentile(proxied, 50).toFixed(2)} ms → ${(percentile(proxied, 50) / percentile(direct, 50)).toFixed(2)}× (goal ≤ 1.3×)`,
    );
    console.log(
      `  throughput (16 concurrent, 3 s): direct ${directRps.toFixed(0)} req/s, proxy ${proxiedRps.toFixed(0)} req/s → ${((proxiedRps / directRps) * 100).toFixed(0)}% (goal ≥ 70%)`,
    );

    // 3. The preview door, on the same machine.
    const { token } = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "bench previews" });
    await benchPreviewDoor({
      machineId: machine.id,
      os2Url: base,
      previewOriginFor: (machineId, port) => t.os2.previewOrigin.urlFor(machineId, port),
      accessToken: token,
    });
    await fx.api.machine.delete.mutate({ ...fx.scope, machineId: machine.id });

    // 4. 20 concurrent creates.
    const started = performance.now();
    const burst = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const m = await fx.api.machine.create.mutate({ ...fx.scope, name: `burst-${i}`, type: "local-docker" });
        return { id: m.id, ms: await waitRunning(m.id, started) };
      }),
    );
    const times = burst.map((b) => b.ms);
    console.log(
      `\n20 concurrent creates: ${burst.length}/20 reached running; p50 ${fmt(percentile(times, 50))}, p95 ${fmt(percentile(times, 95))}, last ${fmt(Math.max(...times))}`,
    );
    for (const b of burst) await fx.api.machine.delete.mutate({ ...fx.scope, machineId: b.id });

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
  } finally {
    await t.close();
    await removeContainersOfStage(stage);
  }
}

await main();
