/**
 * The load generator of `pnpm bench:api`, run in a worker thread (bench/api.ts starts it) so that issuing
 * requests and reading answers does not share the event loop of the server it measures: `count` runs of
 * one measure, `concurrency` in flight, latencies in ms.
 *
 * A measure is a GET that must answer 200 (its body read, not parsed), or a walk: every page of the
 * machine list, each cursor taken from the page before.
 */
import { parentPort } from "node:worker_threads";

import { percentile } from "../test-support/http-status.ts";

export type LoadJob = {
  count: number;
  concurrency: number;
  cookie: string;
} & ({ kind: "get"; url: string } | { kind: "walk"; base: string; input: Record<string, unknown>; limit: number });

export type LoadResult = { p50: number; p95: number; perSecond: number; resets: number };

let resets = 0;

/**
 * A GET the server reset before answering is sent again. On a loaded host a kept-alive connection the
 * server closed as idle is sometimes reused before the close is seen; a browser sends an idempotent request
 * again on such a reset, and so does this. The retry's time counts in the latency; the number is reported.
 */
async function fetchRetryingResets(url: string, cookie: string): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, { headers: { cookie } });
    } catch (error) {
      const code = ((error as Error).cause as { code?: string } | undefined)?.code;
      if (attempt >= 3 || (code !== "ECONNRESET" && code !== "UND_ERR_SOCKET"))
        throw new Error(`GET ${url.slice(0, 80)} failed: ${String((error as Error).cause ?? error)}`, {
          cause: error,
        });
      resets += 1;
    }
  }
}

async function get(url: string, cookie: string): Promise<string> {
  const response = await fetchRetryingResets(url, cookie);
  const text = await response.text();
  if (response.status !== 200)
    throw new Error(`${url.slice(0, 80)} answered ${response.status}: ${text.slice(0, 200)}`);
  return text;
}

export function trpcGet(base: string, path: string, input: unknown): string {
  return `${base}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
}

type Page = { machines: { id: string }[]; nextCursor: string | null };

/** Every page of the list; the ids it saw. */
export async function walk(base: string, input: Record<string, unknown>, limit: number, cookie: string) {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const text = await get(trpcGet(base, "machine.list", { ...input, limit, cursor }), cookie);
    const page = (JSON.parse(text) as { result: { data: { json: Page } } }).result.data.json;
    ids.push(...page.machines.map((row) => row.id));
    cursor = page.nextCursor;
  } while (cursor);
  return ids;
}

async function run(job: LoadJob): Promise<LoadResult> {
  const task =
    job.kind === "get" ? () => get(job.url, job.cookie) : () => walk(job.base, job.input, job.limit, job.cookie);
  const latencies: number[] = [];
  let issued = 0;
  resets = 0;
  const started = performance.now();
  const worker = async () => {
    while (issued < job.count) {
      issued += 1;
      const begin = performance.now();
      await task();
      latencies.push(performance.now() - begin);
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return {
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    perSecond: job.count / seconds,
    resets,
  };
}

// In the worker: one job per message, answered with its result (or its failure).
const port = parentPort;
port?.on("message", (job: LoadJob) => {
  run(job).then(
    (result) => port.postMessage({ ok: true, result }),
    (error: unknown) => port.postMessage({ ok: false, error: String((error as Error).stack ?? error) }),
  );
});
