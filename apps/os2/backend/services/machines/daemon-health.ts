/**
 * "running" means the daemon's /api/health answered `status: "ok"` (the daemon's shape, from
 * `@os2/protocol`), not merely that the container started or that something on the port said 200. It is
 * polled through the provider's endpoint, which can change: Docker assigns a new host port after a restart.
 */
import { healthResponseSchema, type OomReport } from "@os2/protocol";

import type { DaemonEndpoint } from "../../providers/types.ts";

/** Health answers are small; anything bigger is not the daemon. */
const MAX_HEALTH_BYTES = 64 * 1024;

/** Whether the daemon is healthy, and what it reported of OOM kills inside the machine (when it did). */
export type HealthVerdict = { healthy: true; oom?: OomReport } | { healthy: false; reason: string; oom?: OomReport };

export async function checkHealth(endpoint: DaemonEndpoint, timeoutMs = 1_000): Promise<HealthVerdict> {
  let response: Response;
  try {
    response = await fetch(`${endpoint.url}/api/health`, {
      headers: endpoint.headers,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    return { healthy: false, reason: `The daemon did not answer /api/health: ${(error as Error).message}` };
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    return { healthy: false, reason: `The daemon answered /api/health with ${response.status}` };
  }
  const text = await readCapped(response, MAX_HEALTH_BYTES).catch(() => null);
  const parsed = healthResponseSchema.safeParse(parseJson(text));
  if (!parsed.success) return { healthy: false, reason: "The answer to /api/health is not the daemon's health report" };
  const oom = parsed.data.oom ? { oom: parsed.data.oom } : {};
  if (parsed.data.status !== "ok") {
    const down = parsed.data.services.filter((service) => service.state !== "up" || !service.ready).map((s) => s.name);
    const reason = `The daemon reports ${parsed.data.status}${down.length ? ` (${down.join(", ")})` : ""}`;
    return { healthy: false, reason, ...oom };
  }
  return { healthy: true, ...oom };
}

export async function probeHealth(endpoint: DaemonEndpoint, timeoutMs = 1_000): Promise<boolean> {
  return (await checkHealth(endpoint, timeoutMs)).healthy;
}

function parseJson(text: string | null): unknown {
  try {
    return text === null ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

async function readCapped(response: Response, limit: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new Error("health answer too large");
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export type WaitForHealthOptions = {
  endpoint: () => Promise<DaemonEndpoint>;
  timeoutMs: number;
  intervalMs?: number;
  signal?: AbortSignal;
};

/**
 * Resolves when health is good; rejects with the last reason after `timeoutMs`. Polls every 10 ms: a boot
 * takes ~0.3–1 s, and on local Docker a poll before the daemon listens is a connection the kernel refuses
 * at the machine's bridge address (no docker-proxy in between), so polling fast costs next to nothing.
 */
export async function waitForHealth(options: WaitForHealthOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 10;
  let endpoint: DaemonEndpoint | null = null;
  let lastReason = "";
  while (Date.now() < deadline) {
    options.signal?.throwIfAborted();
    endpoint ??= await options.endpoint().catch(() => null);
    if (endpoint) {
      const verdict = await checkHealth(endpoint, Math.min(1_000, Math.max(100, deadline - Date.now())));
      if (verdict.healthy) return;
      lastReason = verdict.reason;
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
  const seconds = Math.round(options.timeoutMs / 1000);
  throw new Error(`The machine's daemon was not healthy within ${seconds} s${lastReason ? `: ${lastReason}` : ""}`);
}
