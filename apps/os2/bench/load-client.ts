/**
 * The HTTP load client of the preview benchmark, run as a child process (`tsx bench/load-client.ts
 * '<job json>'`) so that it never shares an event loop with the os2 it measures: in production the
 * browser is elsewhere. Prints the job's result as one line of JSON.
 *
 * Jobs:
 * - `latency`: sequential GETs over one keep-alive connection per target, in rounds that alternate between
 *   the targets so noise hits all alike; the first `warmup` requests of each target are discarded.
 *   → `{ samples: { [name]: ms[] } }`
 * - `throughput`: `clients` concurrent keep-alive clients GET `path` for `seconds`, after one warm-up
 *   request each (connections open before the clock starts); every body must be `expectBytes` long.
 *   → `{ requestsPerSecond }`
 */
import http from "node:http";

/** `prefix` goes before every path (a forward's `/api/forward/8080`); `status` is the one expected (200). */
export type LoadTarget = {
  name: string;
  host: string;
  port: number;
  prefix?: string;
  status?: number;
  headers: Record<string, string>;
};
export type LoadJob =
  | { kind: "latency"; targets: LoadTarget[]; path: string; warmup: number; rounds: number; perRound: number }
  | {
      kind: "throughput";
      target: LoadTarget;
      path: string;
      clients: number;
      seconds: number;
      expectBytes: number;
    };

function get(target: LoadTarget, path: string, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: target.host, port: target.port, path: `${target.prefix ?? ""}${path}`, agent, headers: target.headers },
      (response) => {
        let bytes = 0;
        response.on("data", (chunk: Buffer) => (bytes += chunk.byteLength));
        response.on("end", () => {
          if (response.statusCode === (target.status ?? 200)) resolve(bytes);
          else reject(new Error(`${target.name} GET ${path}: HTTP ${response.statusCode}`));
        });
        response.on("error", reject);
      },
    );
    request.setTimeout(10_000, () => request.destroy(new Error(`${target.name} GET ${path} timed out`)));
    request.on("error", reject);
    request.end();
  });
}

async function latency(job: Extract<LoadJob, { kind: "latency" }>) {
  const agents = new Map(
    job.targets.map((target) => [target.name, new http.Agent({ keepAlive: true, maxSockets: 1 })]),
  );
  const samples: Record<string, number[]> = Object.fromEntries(job.targets.map((target) => [target.name, []]));
  const run = async (target: LoadTarget, count: number, keep: boolean) => {
    const agent = agents.get(target.name)!;
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      await get(target, job.path, agent);
      if (keep) samples[target.name]!.push(performance.now() - started);
    }
  };
  for (const target of job.targets) await run(target, job.warmup, false);
  for (let round = 0; round < job.rounds; round++) {
    for (const target of job.targets) await run(target, job.perRound, true);
  }
  for (const agent of agents.values()) agent.destroy();
  return { samples };
}

async function throughput(job: Extract<LoadJob, { kind: "throughput" }>) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.clients });
  await Promise.all(Array.from({ length: job.clients }, () => get(job.target, job.path, agent)));
  let done = 0;
  const until = performance.now() + job.seconds * 1000;
  await Promise.all(
    Array.from({ length: job.clients }, async () => {
      while (performance.now() < until) {
        const bytes = await get(job.target, job.path, agent);
        if (bytes !== job.expectBytes) throw new Error(`${job.target.name}: ${bytes} bytes, not ${job.expectBytes}`);
        done += 1;
      }
    }),
  );
  agent.destroy();
  return { requestsPerSecond: done / job.seconds };
}

const job = JSON.parse(process.argv[2] ?? "null") as LoadJob | null;
if (!job) throw new Error("usage: tsx bench/load-client.ts '<job json>'");
const result = job.kind === "latency" ? await latency(job) : await throughput(job);
process.stdout.write(`${JSON.stringify(result)}\n`);
