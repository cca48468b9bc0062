/**
 * The warm pool's figures for `pnpm bench:machines` (services/machines/warm-pool.ts), on an os2 of its own
 * with a pool of 5:
 *  - create → `running`, warm: the tRPC create until the machine reads `running` (the pool refilled
 *    between runs, so each create finds a member), p50/p95;
 *  - time to interactive, warm: the SDK's `create({ wait: true })` until `exec("true")` returns;
 *  - 20 concurrent creates with a full pool of 5: five are claimed, fifteen boot cold.
 */
import { Os2 } from "@os2/sdk";

import { createTestOs2 } from "../backend/testing/harness.ts";
import { removeContainersOfStage, setUpProject } from "../backend/testing/machine-fixtures.ts";
import { percentile } from "../test-support/http-status.ts";

type Row = { measure: string; figure: string; goal: string };

const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

export async function benchWarmPool(image: string, runs: number): Promise<Row[]> {
  const t = await createTestOs2({ env: { LOCAL_DOCKER_IMAGE_NAME: image, OS2_WARM_POOL_SIZE: "5" } });
  const stage = t.os2.deps.stage;
  try {
    const fx = await setUpProject(t, "bench-pool+test@example.com");
    const base = await t.listen();
    // Filled as the reconciler's leader does, and waited for, so every measured create finds a member.
    t.os2.pool.setLeading(true);
    const refill = () => t.os2.pool.maintain();
    // 5 ms polls for one machine, 50 ms in the burst (20 clients at 5 ms would load what they measure).
    const waitRunning = async (machineId: string, started: number, pollMs = 5) => {
      for (;;) {
        const machine = await fx.api.machine.byId.query({ ...fx.scope, machineId });
        if (machine.observedState === "running") return performance.now() - started;
        if (machine.observedState === "error") throw new Error(`machine ${machineId} failed: ${machine.lastError}`);
        if (performance.now() - started > 60_000) throw new Error(`machine ${machineId} not running after 60 s`);
        await new Promise((r) => setTimeout(r, pollMs));
      }
    };

    const warm: number[] = [];
    for (let i = 0; i < runs; i++) {
      await refill();
      const started = performance.now();
      const machine = await fx.api.machine.create.mutate({ ...fx.scope, name: `warm-${i}`, type: "local-docker" });
      warm.push(await waitRunning(machine.id, started));
      await fx.api.machine.delete.mutate({ ...fx.scope, machineId: machine.id });
    }
    console.log(`\nwarm pool (5): create → running over ${runs} machines, pool refilled between`);
    console.log(`  p50 ${fmt(percentile(warm, 50))}  p95 ${fmt(percentile(warm, 95))}`);

    const { token } = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "bench pool sdk" });
    const os2 = new Os2({ baseUrl: base, token });
    const tti: number[] = [];
    for (let i = 0; i < runs; i++) {
      await refill();
      const started = performance.now();
      const machine = await os2.machines.create({ name: `warm-tti-${i}`, wait: true });
      const result = await machine.exec("true");
      if (result.exitCode !== 0) throw new Error(`exec true exited ${result.exitCode}`);
      tti.push(performance.now() - started);
      await machine.delete();
    }
    console.log(`warm pool: time to interactive (SDK create() → first command's result), ${runs} runs`);
    console.log(
      `  p50 ${fmt(percentile(tti, 50))}  p95 ${fmt(percentile(tti, 95))}  (Daytona's published best: 186 / 492 ms)`,
    );

    await refill();
    t.os2.pool.setLeading(false); // no refill during the burst: five warm, fifteen cold
    const started = performance.now();
    const burst = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const m = await fx.api.machine.create.mutate({ ...fx.scope, name: `warm-burst-${i}`, type: "local-docker" });
        return { id: m.id, ms: await waitRunning(m.id, started, 50) };
      }),
    );
    const times = burst.map((b) => b.ms);
    console.log(
      `20 concurrent creates, pool of 5 then cold: ${burst.length}/20 running; p50 ${fmt(percentile(times, 50))}, p95 ${fmt(percentile(times, 95))}`,
    );
    for (const b of burst) await fx.api.machine.delete.mutate({ ...fx.scope, machineId: b.id });
    return [
      {
        measure: "create → `running`, warm",
        figure: `p50 ${fmt(percentile(warm, 50))}, p95 ${fmt(percentile(warm, 95))}`,
        goal: "≤ 100 ms / ≤ 200 ms",
      },
      {
        measure: "create → first exec result (time to interactive), warm",
        figure: `p50 ${fmt(percentile(tti, 50))}, p95 ${fmt(percentile(tti, 95))}`,
        goal: "≤ 150 ms / ≤ 300 ms",
      },
      {
        measure: "20 concurrent creates, pool of 5 then cold (p95)",
        figure: `${fmt(percentile(times, 95))} (${burst.length}/20 running)`,
        goal: "≤ 5 s",
      },
    ];
  } finally {
    await t.close();
    await removeContainersOfStage(stage);
  }
}

/** `tsx bench/warm-pool.ts`: only the warm-pool figures. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await benchWarmPool(process.env.LOCAL_DOCKER_IMAGE_NAME || "iterate-sandbox:local", 10);
  console.log("\n| measure | figure | goal |\n|---|---|---|");
  for (const row of rows) console.log(`| ${row.measure} | ${row.figure} | ${row.goal} |`);
}
