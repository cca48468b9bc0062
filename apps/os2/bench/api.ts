/**
 * `pnpm bench:api`: `machine.list` for a project with 1,000 machines, 100 requests in flight at a time, over
 * real HTTP (tRPC, session cookie), on embedded PGlite and on PostgreSQL (DATABASE_URL_TEST, when set).
 * Two measures of the list:
 * - the first page at the default limit (50 machines), what the dashboard asks for; goal p95 ≤ 25 ms;
 * - a full walk of all 1,000 page by page at the largest limit (200, 5 pages), what `os2 machines ls` and the
 *   SDK's listAll do; its latency is the whole walk's.
 * The baseline, in the same run and under the same load, is `user.me`: an authenticated call that reads one
 * session. Timings are printed, never asserted; the host's load average is printed with them. Requests are
 * issued from a worker thread (bench/api-load.ts), so the client's work does not queue on the event loop of
 * the server it measures.
 *
 * Each database runs twice: with the machine list cache as shipped (OS2_MACHINE_LIST_CACHE_MS, 1 s: every
 * caller within a moment gets one read's page, as a dashboard's tabs and a script's polls do between two
 * changes) and with it off (0: every request reads the database, as when the list changes all the time).
 *
 * The machines are rows only (no containers): listing reads the database, never a provider, and the
 * reconciler is off, so nothing touches them while the load runs.
 *
 * Env: BENCH_API_REQUESTS (default 2000 per measure; a walk counts as its pages), BENCH_API_CONCURRENCY
 * (default 100).
 */
import os from "node:os";
import { Worker } from "node:worker_threads";

import { machine } from "../backend/db/schema/machine.ts";
import { newId } from "../backend/ids.ts";
import { MACHINE_LIST_DEFAULT_LIMIT, MACHINE_LIST_MAX_LIMIT } from "../backend/services/machines/machine-list.ts";
import { createTestOs2 } from "../backend/testing/harness.ts";
import { setUpProject } from "../backend/testing/machine-fixtures.ts";
import { type LoadJob, type LoadResult, trpcGet, walk } from "./api-load.ts";

const MACHINES = 1_000;
const requests = Number(process.env.BENCH_API_REQUESTS ?? 2_000);
const concurrency = Number(process.env.BENCH_API_CONCURRENCY ?? 100);
const GOAL_P95_MS = 25;

/**
 * The load generator in a worker thread (bench/api-load.ts), one for the whole run so its connections and
 * JIT are warm like the server's; `measure` runs one job there.
 */
function startLoadGenerator() {
  // The worker loads TypeScript the way this process does: tsx's loader, registered before the file.
  const entry = JSON.stringify(new URL("./api-load.ts", import.meta.url).href);
  const worker = new Worker(`import("tsx/esm/api").then(({ register }) => { register(); return import(${entry}); });`, {
    eval: true,
  });
  return {
    measure(job: LoadJob): Promise<LoadResult> {
      return new Promise((resolve, reject) => {
        const onError = (error: Error) => reject(error);
        worker.once("error", onError);
        worker.once("message", (message: { ok: true; result: LoadResult } | { ok: false; error: string }) => {
          worker.off("error", onError);
          if (message.ok) resolve(message.result);
          else reject(new Error(`the load generator failed: ${message.error}`));
        });
        worker.postMessage(job);
      });
    },
    stop: () => worker.terminate(),
  };
}

/** A GET that must answer 200; its tRPC result. */
async function get<T>(url: string, cookie: string): Promise<T> {
  const response = await fetch(url, { headers: { cookie } });
  const text = await response.text();
  if (response.status !== 200)
    throw new Error(`${url.slice(0, 80)} answered ${response.status}: ${text.slice(0, 200)}`);
  return (JSON.parse(text) as { result: { data: { json: T } } }).result.data.json;
}

async function bench(
  database: "pglite" | "postgres",
  cache: "on" | "off",
  generator: ReturnType<typeof startLoadGenerator>,
) {
  const t = await createTestOs2({ database, env: cache === "off" ? { OS2_MACHINE_LIST_CACHE_MS: "0" } : {} });
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

    const firstPageUrl = trpcGet(base, "machine.list", { ...fx.scope, includeArchived: false });
    const listInput = { ...fx.scope, includeArchived: false };
    const first = await get<{ machines: unknown[]; nextCursor: string | null }>(firstPageUrl, fx.cookie);
    if (first.machines.length !== MACHINE_LIST_DEFAULT_LIMIT || !first.nextCursor)
      throw new Error(`the first page holds ${first.machines.length} machines, not ${MACHINE_LIST_DEFAULT_LIMIT}`);
    const walked = await walk(base, listInput, MACHINE_LIST_MAX_LIMIT, fx.cookie);
    if (walked.length !== MACHINES || new Set(walked).size !== MACHINES)
      throw new Error(
        `a walk saw ${new Set(walked).size} distinct machines of ${walked.length} listed, not ${MACHINES}`,
      );

    const meUrl = trpcGet(base, "user.me", undefined);
    const pagesPerWalk = Math.ceil(MACHINES / MACHINE_LIST_MAX_LIMIT);
    const common = { concurrency, cookie: fx.cookie };
    const measure = (job: LoadJob) => generator.measure(job);
    // Warm both paths (JIT, connection pool, the list's statistics) before measuring.
    await measure({ ...common, kind: "get", url: meUrl, count: requests });
    await measure({ ...common, kind: "get", url: firstPageUrl, count: requests });
    const baseline = await measure({ ...common, kind: "get", url: meUrl, count: requests });
    const firstPage = await measure({ ...common, kind: "get", url: firstPageUrl, count: requests });
    const fullWalk = await measure({
      ...common,
      kind: "walk",
      base,
      input: listInput,
      limit: MACHINE_LIST_MAX_LIMIT,
      count: Math.ceil(requests / pagesPerWalk),
    });
    const resets = baseline.resets + firstPage.resets + fullWalk.resets;
    return { database, cache, baseline, firstPage, fullWalk, pagesPerWalk, load: os.loadavg(), resets };
  } finally {
    await t.close();
  }
}

const databases: Array<"pglite" | "postgres"> = ["pglite"];
if (process.env.DATABASE_URL_TEST) databases.push("postgres");
else console.log("DATABASE_URL_TEST is not set: PostgreSQL is skipped (scripts/ensure-test-env.sh sets it).");

const generator = startLoadGenerator();
const results = [];
try {
  for (const database of databases) {
    for (const cache of ["on", "off"] as const) results.push(await bench(database, cache, generator));
  }
} finally {
  await generator.stop();
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
console.log(
  `\nmachine.list, ${MACHINES} machines, ${requests} requests per measure, ${concurrency} in flight (goal: first page p95 ≤ ${GOAL_P95_MS} ms)`,
);
console.log(
  "| database | list cache | measure | p50 / p95 | user.me p50 / p95 (baseline) | p95 ratio | per second | load (1 min) |",
);
console.log("|---|---|---|---|---|---|---|---|");
for (const { database, cache, baseline, firstPage, fullWalk, pagesPerWalk, load: loadAverage } of results) {
  const me = `${ms(baseline.p50)} / ${ms(baseline.p95)}`;
  const average = (loadAverage[0] ?? 0).toFixed(1);
  console.log(
    `| ${database} | ${cache} | first page (${MACHINE_LIST_DEFAULT_LIMIT} machines) | ${ms(firstPage.p50)} / ${ms(firstPage.p95)} ${firstPage.p95 <= GOAL_P95_MS ? "✓" : "✗"} | ${me} | ${(firstPage.p95 / baseline.p95).toFixed(2)}× | ${firstPage.perSecond.toFixed(0)} requests | ${average} |`,
  );
  console.log(
    `| ${database} | ${cache} | full walk (${MACHINES} machines, ${pagesPerWalk} pages of ${MACHINE_LIST_MAX_LIMIT}) | ${ms(fullWalk.p50)} / ${ms(fullWalk.p95)} | ${me} | ${(fullWalk.p95 / baseline.p95).toFixed(2)}× | ${fullWalk.perSecond.toFixed(1)} walks | ${average} |`,
  );
}
const retried = results.filter((result) => result.resets > 0);
if (retried.length > 0)
  console.log(
    `Connections reset by the server and retried (see bench/api-load.ts): ${retried.map((result) => `${result.database} (cache ${result.cache}) ${result.resets}`).join(", ")}`,
  );
