/**
 * The preview door's cost, against a baseline taken in the same run: a trivial Node server inside a real
 * machine on port 8080, reached
 *  (a) directly, from the host, at the container's bridge address `http://<container ip>:8080/` (baseline);
 *  (b) through the preview origin of that port: a connection to os2 with `Host: 8080--mach-….localhost:<port>`
 *      (Node cannot resolve `*.localhost`) and the project's access token as `Authorization: Bearer`. On
 *      local Docker, where the host reaches the bridge, that is os2 → the app at its bridge address; the
 *      bench asks the app who connected, and says which path os2 took.
 * For reading (b) against, measured alongside: a bare Node keep-alive proxy in its own process in front of
 * the app (the cheapest hop there is), and the hops of the fallback path (where the bridge is out of the
 * host's reach, os2 → docker-proxy → the daemon's `/api/forward/8080/` → the app): the daemon's forward at
 * the bridge address (`<ip>:3000/api/forward/8080/`), and the same through the daemon's published port.
 *
 * All over keep-alive connections, from a load client in its own process (load-client.ts). Latency: one
 * client, sequential GETs of a 2-byte body, the paths interleaved in rounds. Throughput: 16 concurrent
 * clients for 2 s fetching a 100 KiB body (after a 1 s warm-up at the same load), the paths interleaved,
 * five rounds each, the median kept (a host shared with other work starves single rounds).
 */
import { type ChildProcess, spawn } from "node:child_process";
import http from "node:http";
import { fileURLToPath } from "node:url";

import { forwardPath, MACHINE_TOKEN_HEADER } from "@os2/protocol";

import { docker } from "../backend/testing/machine-fixtures.ts";
import { percentile } from "../test-support/http-status.ts";
import type { LoadJob, LoadTarget } from "./load-client.ts";

const APP_PORT = 8080;
const BIG_BYTES = 100 * 1024;
const APP_SERVER = `
const http = require("node:http");
const big = Buffer.alloc(${BIG_BYTES}, "x");
http.createServer((req, res) => {
  if (req.url === "/big") return res.writeHead(200, { "content-type": "application/octet-stream", "content-length": big.length }).end(big);
  if (req.url === "/peer") return res.writeHead(200, { "content-type": "text/plain" }).end(req.socket.remoteAddress);
  res.writeHead(200, { "content-type": "text/plain", "content-length": 2 }).end("ok");
}).listen(${APP_PORT}, "0.0.0.0");
`;

/** For scale: the cheapest possible hop, a bare Node keep-alive proxy in its own process on the host. */
export const BARE_PROXY = `
const http = require("node:http");
const [upstreamHost, upstreamPort] = process.argv.slice(1);
const agent = new http.Agent({ keepAlive: true });
const server = http.createServer((req, res) => {
  const upstream = http.request({ host: upstreamHost, port: Number(upstreamPort), path: req.url, method: req.method, headers: req.headers, agent }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  req.pipe(upstream);
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

const tsx = fileURLToPath(new URL("../node_modules/.bin/tsx", import.meta.url));
const loadClient = fileURLToPath(new URL("./load-client.ts", import.meta.url));

export function runLoad<T>(job: LoadJob): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [loadClient, JSON.stringify(job)], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0) resolve(JSON.parse(stdout) as T);
      else reject(new Error(`load client (${job.kind}) exited with ${code}: ${stderr.trim()}`));
    });
  });
}

const latency = (targets: LoadTarget[]) =>
  runLoad<{ samples: Record<string, number[]> }>({
    kind: "latency",
    targets,
    path: "/",
    warmup: 300,
    rounds: 10,
    perRound: 200,
  });

/** Interleaved rounds per path; the median is kept, so one round that other work on the host starved does not decide. */
const THROUGHPUT_ROUNDS = 5;
const THROUGHPUT_SECONDS = 2;

const throughputRun = async (target: LoadTarget, warm: boolean) => {
  const job = { kind: "throughput", target, path: "/big", clients: 16, expectBytes: BIG_BYTES } as const;
  if (warm) await runLoad({ ...job, seconds: 1 });
  return (await runLoad<{ requestsPerSecond: number }>({ ...job, seconds: THROUGHPUT_SECONDS })).requestsPerSecond;
};

/** Median req/s of each target over interleaved rounds (the first one after a 1 s warm-up). */
async function throughput(targets: LoadTarget[]): Promise<Record<string, number>> {
  const runs: Record<string, number[]> = Object.fromEntries(targets.map((target) => [target.name, []]));
  for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
    for (const target of targets) runs[target.name]?.push(await throughputRun(target, round === 0));
  }
  return Object.fromEntries(Object.entries(runs).map(([name, values]) => [name, percentile(values, 50)]));
}

export type PreviewBenchInput = {
  machineId: string;
  /** Where os2 listens (http://127.0.0.1:<port>). */
  os2Url: string;
  /** The preview origin of a port of this machine (`previewOrigin.urlFor`). */
  previewOriginFor(machineId: string, port: number): string;
  accessToken: string;
};

/** What the summary table shows: p50 latencies and throughputs of the preview path and its baselines. */
export type PreviewFigures = {
  directMs: number;
  previewMs: number;
  previewP95Ms: number;
  /** What one bare Node keep-alive proxy adds, measured in the same run. */
  bareAddedMs: number;
  /** 100 KiB req/s as a share of direct (0..1). */
  previewShare: number;
  bareShare: number;
};

export async function benchPreviewDoor(input: PreviewBenchInput): Promise<PreviewFigures> {
  const [listed] = await docker.listContainers({
    filters: JSON.stringify({ label: [`os2.machine-id=${input.machineId}`] }),
  });
  if (!listed) throw new Error(`no running container for ${input.machineId}`);
  const container = docker.getContainer(listed.Id);
  const info = await container.inspect();
  // Machines sit on the os2 network, not the default bridge: its address is under Networks.
  const ip = Object.values(info.NetworkSettings.Networks ?? {})[0]?.IPAddress;
  const daemonHostPort = Number(info.NetworkSettings.Ports["3000/tcp"]?.[0]?.HostPort);
  const machineToken = info.Config.Env.find((entry) => entry.startsWith("MACHINE_AUTH_TOKEN="))?.split("=")[1];
  if (!ip || !daemonHostPort || !machineToken) throw new Error(`container ${listed.Id}: no address, port or token`);

  const exec = await container.exec({ Cmd: ["node", "-e", APP_SERVER] });
  // Detached: Docker answers at once; the response must still be read, or its socket keeps the process up.
  (await exec.start({ Detach: true })).resume();

  const os2 = new URL(input.os2Url);
  const direct: LoadTarget = { name: "direct", host: ip, port: APP_PORT, headers: {} };
  const preview: LoadTarget = {
    name: "preview",
    host: os2.hostname,
    port: Number(os2.port),
    headers: {
      host: new URL(input.previewOriginFor(input.machineId, APP_PORT)).host,
      authorization: `Bearer ${input.accessToken}`,
    },
  };
  const prefix = forwardPath(APP_PORT, "").replace(/\/$/, "");
  const token = { [MACHINE_TOKEN_HEADER]: machineToken };
  const forward: LoadTarget = { name: "forward", host: ip, port: 3000, prefix, headers: token };
  const published: LoadTarget = { name: "published", host: "127.0.0.1", port: daemonHostPort, prefix, headers: token };

  const bare = spawn(process.execPath, ["-e", BARE_PROXY, ip, String(APP_PORT)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const barePort = await new Promise<number>((resolve, reject) => {
      bare.stdout.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      bare.once("exit", (code) => reject(new Error(`the bare proxy exited with ${code}`)));
    });
    const bareProxy: LoadTarget = { name: "bare", host: "127.0.0.1", port: barePort, headers: {} };
    return await measure({ ip, direct, bareProxy, forward, published, preview });
  } finally {
    stop(bare);
  }
}

/** What the app saw as the connection's peer address, through `target`. */
async function peerSeenThrough(target: LoadTarget): Promise<string> {
  const { host, port, headers } = target;
  return new Promise((resolve, reject) => {
    const request = http.get({ host, port, path: `${target.prefix ?? ""}/peer`, headers }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => resolve(body.trim()));
      response.on("error", reject);
    });
    request.on("error", reject);
  });
}

function stop(child: ChildProcess) {
  if (child.exitCode === null && child.signalCode === null) child.kill();
}

async function measure(
  paths: Record<"direct" | "bareProxy" | "forward" | "published" | "preview", LoadTarget> & { ip: string },
): Promise<PreviewFigures> {
  const { ip, direct, bareProxy, forward, published, preview } = paths;
  const deadline = Date.now() + 15_000;
  const once = (target: LoadTarget) =>
    runLoad({ kind: "latency", targets: [target], path: "/", warmup: 1, rounds: 0, perRound: 0 }).then(
      () => true,
      () => false,
    );
  while (!(await once(direct))) {
    if (Date.now() > deadline) throw new Error(`the app on ${ip}:${APP_PORT} did not answer within 15 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const target of [bareProxy, forward, published, preview]) {
    if (!(await once(target))) throw new Error(`the app does not answer through ${target.name}`);
  }
  const peer = await peerSeenThrough(preview);
  // The daemon's forward connects from inside the machine (loopback); the host connects from the gateway.
  const path = /^(127\.|::1$|::ffff:127\.)/.test(peer)
    ? `through the daemon's forward (the app saw ${peer})`
    : `straight to the app's bridge address (the app saw the host, ${peer})`;

  const all = [direct, bareProxy, forward, published, preview];
  const { samples } = await latency(all);
  const p50 = (name: string) => percentile(samples[name] ?? [], 50);
  const p95 = (name: string) => percentile(samples[name] ?? [], 95);
  const rps = await throughput(all);

  const ms = (value: number) => `${value.toFixed(2)} ms`;
  const plus = (value: number) => `+${value.toFixed(2)} ms`;
  const added = p50("preview") - p50("direct");
  const share = (name: string) => `${(((rps[name] ?? 0) / (rps.direct ?? 1)) * 100).toFixed(0)}%`;
  const perSecond = (name: string) => `${(rps[name] ?? 0).toFixed(0)} req/s`;
  console.log(
    `\npreview door: a Node server on port ${APP_PORT} inside the machine, direct at ${ip}:${APP_PORT} vs its preview origin (Bearer token, keep-alive, load client in its own process); os2 connects ${path}`,
  );
  console.log(
    `  latency p50 over ${samples.direct?.length} GETs each: direct ${ms(p50("direct"))} (p95 ${ms(p95("direct"))}), preview ${ms(p50("preview"))} (p95 ${ms(p95("preview"))})`,
  );
  console.log(
    `  added at p50: ${ms(added)} per request (goal ≤ 0.5 ms) → ${(p50("preview") / p50("direct")).toFixed(2)}× direct`,
  );
  console.log(
    `    for scale: one bare Node keep-alive proxy on the host adds ${ms(p50("bare") - p50("direct"))}, so the door's own work beyond a bare proxy is ${ms(p50("preview") - p50("bare"))}. Where the host cannot reach the bridge, os2 goes through docker-proxy and the daemon's forward instead, which add: the forward ${plus(p50("forward") - p50("direct"))}, docker-proxy (published port) ${plus(p50("published") - p50("forward"))}`,
  );
  console.log(
    `  throughput (100 KiB bodies, 16 concurrent, median of ${THROUGHPUT_ROUNDS} interleaved rounds of ${THROUGHPUT_SECONDS} s): direct ${perSecond("direct")}, preview ${perSecond("preview")} → ${share("preview")} (goal ≥ 90%)`,
  );
  console.log(
    `    for scale: one bare Node proxy ${perSecond("bare")} (${share("bare")}); the fallback's hops alone: the daemon's forward ${perSecond("forward")} (${share("forward")}), through the published port ${perSecond("published")} (${share("published")})`,
  );
  return {
    directMs: p50("direct"),
    previewMs: p50("preview"),
    previewP95Ms: p95("preview"),
    bareAddedMs: p50("bare") - p50("direct"),
    previewShare: (rps.preview ?? 0) / (rps.direct ?? 1),
    bareShare: (rps.bare ?? 0) / (rps.direct ?? 1),
  };
}
