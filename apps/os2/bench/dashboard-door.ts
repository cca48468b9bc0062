/**
 * The dashboard door's own cost (dashboard-door.ts: `/org/…/proxy/3000/*`, session cookie), against an
 * answer of the daemon that does no work: its JSON 404 for a path outside `/api` (no token check, no file,
 * no process), built in memory. Measured with the preview bench's load client (its own process, keep-alive):
 *  (a) direct at the daemon's bridge address (`<container ip>:3000`), the shortest path there is, and the
 *      one the door takes where the host reaches the bridge (providers/local-docker/machine-address.ts);
 *  (b) a bare Node keep-alive proxy in its own process in front of (a), for scale;
 *  (c) through the dashboard door;
 *  (d) the daemon's published port (127.0.0.1:<host port>, through docker-proxy): the fallback path's start.
 * The added latency per request is (c) − (a) at p50; requests per second are one client at a time, so
 * they are latency's inverse: 100 KiB throughput is the preview bench's (the door only passes JSON).
 */
import { spawn } from "node:child_process";

import { docker } from "../backend/testing/machine-fixtures.ts";
import { percentile } from "../test-support/http-status.ts";
import type { LoadTarget } from "./load-client.ts";
import { BARE_PROXY, runLoad } from "./preview-door.ts";

const NO_WORK_PATH = "/bench-no-work";

export type DashboardDoorInput = {
  /** The daemon's published port on 127.0.0.1. */
  daemonHostPort: number;
  /** os2's address, and the machine's dashboard proxy path (`/org/…/proxy/3000/`). */
  os2Url: string;
  proxyPath: string;
  cookie: string;
};

export type DashboardFigures = { directMs: number; doorMs: number; doorP95Ms: number; bareAddedMs: number };

/** The container's address on its (os2) network, found by the machine id in the proxy path. */
async function bridgeAddressOf(proxyPath: string): Promise<string> {
  const machineId = /\/([^/]+)\/proxy\/\d+\/?$/.exec(proxyPath)?.[1];
  const [listed] = await docker.listContainers({ filters: JSON.stringify({ label: [`os2.machine-id=${machineId}`] }) });
  if (!listed) throw new Error(`no running container for ${machineId}`);
  const info = await docker.getContainer(listed.Id).inspect();
  const ip = Object.values(info.NetworkSettings.Networks ?? {})[0]?.IPAddress;
  if (!ip) throw new Error(`container ${listed.Id} has no bridge address`);
  return ip;
}

export async function benchDashboardDoor(input: DashboardDoorInput): Promise<DashboardFigures> {
  const os2 = new URL(input.os2Url);
  const ip = await bridgeAddressOf(input.proxyPath);
  const direct: LoadTarget = { name: "direct", host: ip, port: 3000, status: 404, headers: {} };
  const published: LoadTarget = {
    name: "published",
    host: "127.0.0.1",
    port: input.daemonHostPort,
    status: 404,
    headers: {},
  };
  const door: LoadTarget = {
    name: "door",
    host: os2.hostname,
    port: Number(os2.port),
    prefix: input.proxyPath.replace(/\/$/, ""),
    status: 404,
    headers: { cookie: input.cookie },
  };
  const bare = spawn(process.execPath, ["-e", BARE_PROXY, ip, "3000"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const barePort = await new Promise<number>((resolve, reject) => {
      bare.stdout.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      bare.once("exit", (code) => reject(new Error(`the bare proxy exited with ${code}`)));
    });
    const bareProxy: LoadTarget = { name: "bare", host: "127.0.0.1", port: barePort, status: 404, headers: {} };
    const { samples } = await runLoad<{ samples: Record<string, number[]> }>({
      kind: "latency",
      targets: [direct, bareProxy, door, published],
      path: NO_WORK_PATH,
      warmup: 300,
      rounds: 10,
      perRound: 200,
    });
    const p50 = (name: string) => percentile(samples[name] ?? [], 50);
    const figures = {
      directMs: p50("direct"),
      doorMs: p50("door"),
      doorP95Ms: percentile(samples.door ?? [], 95),
      bareAddedMs: p50("bare") - p50("direct"),
    };
    console.log(
      `\ndashboard door to the daemon, against its no-work answer (GET ${NO_WORK_PATH}: an in-memory JSON 404), keep-alive, load client in its own process`,
    );
    console.log(
      `  latency p50 over ${samples.direct?.length} GETs each: direct at ${ip}:3000 ${figures.directMs.toFixed(2)} ms, through the door ${figures.doorMs.toFixed(2)} ms (p95 ${figures.doorP95Ms.toFixed(2)} ms)`,
    );
    console.log(
      `  added at p50: ${(figures.doorMs - figures.directMs).toFixed(2)} ms per request (goal ≤ 0.5 ms) → ${(figures.doorMs / figures.directMs).toFixed(2)}× direct; one bare Node keep-alive proxy adds ${figures.bareAddedMs.toFixed(2)} ms, so the door's own work beyond a bare proxy is ${(figures.doorMs - p50("bare")).toFixed(2)} ms`,
    );
    console.log(
      `    where the host cannot reach the bridge, the door starts at the published port instead: docker-proxy adds ${(p50("published") - figures.directMs).toFixed(2)} ms`,
    );
    return figures;
  } finally {
    if (bare.exitCode === null && bare.signalCode === null) bare.kill();
  }
}
