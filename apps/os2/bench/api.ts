/**
 * `pnpm bench:api`: `machine.list` for a project with 1,000 machines, 100 requests in flight at a time, over
 * real HTTP (tRPC, session cookie), on embedded PGlite and on PostgreSQL (DATABASE_URL_TEST, when set).
 * The baseline, in the same run and under the same load, is `user.me`: an authenticated call that reads one
 * session. Goal: `machine.list` p95 ≤ 25 ms. Timings are printed, never asserted.
 *
 * The machines are rows only (no containers): listing reads the database, never a provider, and the
 * reconciler is off, so nothing touches them while the load runs.
 *
 * Env: BENCH_API_REQUESTS (default 2000 per measure), BENCH_API_CONCURRENCY (default 100).
 */
import { machine } from "../backend/db/schema/machine.ts";
import { newId } from "../backend/ids.ts";
import { createTestOs2 } from "../backend/testing/harness.ts";
import { setUpProject } from "../backend/testing/machine-fixtures.ts";
import { percentile } from "../test-support/http-status.ts";

const MACHINES = 1_000;
const requests = Number(process.env.BENCH_API_REQUESTS ?? 2_000);
const concurrency = Number(process.env.BENCH_API_CONCURRENCY ?? 100);
const GOAL_P95_MS = 25;

type Result = { p50: number; p95: number; perSecond: number };

/** `requests` GETs, `concurrency` at a time, each checked for a 200; latencies in ms. */
async function load(url: string, cookie: string): Promise<Result> {
  const latencies: number[] = [];
  let issued = 0;
  const started = performance.now();
  const worker = async () => {
    while (issued < requests) {
      issued += 1;
      const begin = performance.now();
      const response = await fetch(url, { headers: { cookie } });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
      latencies.push(performance.now() - begin);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { p50: percentile(latencies, 50), p95: percentile(latencies, 95), perSecond: requests / seconds };
}

function trpcGet(base: string, path: string, input: unknown): string {
  return `${base}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
}

async function bench(database: "pglite" | "postgres") {
  const t = await createTestOs2({ database });
  try {
    const fx = await setUpProject(t, `bench-api-${database}+test@example.com`);
    const base = await t.listen();
    const authToken = t.os2.deps.encryptor.encrypt("bench-token");
    const rows = Array.from({ length: MACHINES }, (_, index) => ({
      id: newId("machine"),
      projectId: fx.project.id,
      name: `bench-${String(index).padStart(4, "0")}`,
      type: "local-docker" as const,
      desiredState: "stopped" as const,
      observedState: "stopped" as const,
      authTokenEncrypted: authToken,
    }));
    for (let index = 0; index < rows.length; index += 250)
      await t.os2.database.db.insert(machine).values(rows.slice(index, index + 250));

    const listUrl = trpcGet(base, "machine.list", { ...fx.scope, includeArchived: false });
    const first = await fetch(listUrl, { headers: { cookie: fx.cookie } }).catch((error: unknown) => {
      throw new Error(`GET machine.list failed: ${String((error as Error).cause ?? error)}`);
    });
    const check = (await first.json()) as {
      result: { data: { json: unknown[] } };
    };
    if (check.result.data.json.length !== MACHINES) throw new Error("machine.list did not return every machine");
    const meUrl = trpcGet(base, "user.me", undefined);
    // Warm both paths (JIT, connection pool) before measuring.
    await load(meUrl, fx.cookie);
    const baseline = await load(meUrl, fx.cookie);
    const list = await load(listUrl, fx.cookie);
    return { database, baseline, list };
  } finally {
    await t.close();
  }
}

const databases: Array<"pglite" | "postgres"> = ["pglite"];
if (process.env.DATABASE_URL_TEST) databases.push("postgres");
else console.log("DATABASE_URL_TEST is not set: PostgreSQL is skipped (scripts/ensure-test-env.sh sets it).");

const results = [];
for (const database of databases) results.push(await bench(database));

const ms = (value: number) => `${value.toFixed(1)} ms`;
console.log(
  `\nmachine.list, ${MACHINES} machines, ${requests} requests, ${concurrency} in flight (goal: p95 ≤ ${GOAL_P95_MS} ms)`,
);
console.log("| database | machine.list p50 / p95 | user.me p50 / p95 (baseline) | p95 ratio | list req/s |");
console.log("|---|---|---|---|---|");
for (const { database, baseline, list } of results) {
  console.log(
    `| ${database} | ${ms(list.p50)} / ${ms(list.p95)} ${list.p95 <= GOAL_P95_MS ? "✓" : "✗"} | ${ms(baseline.p50)} / ${ms(baseline.p95)} | ${(list.p95 / baseline.p95).toFixed(2)}× | ${list.perSecond.toFixed(0)} |`,
  );
}
