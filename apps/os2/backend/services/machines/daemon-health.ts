/**
 * "running" means the daemon's /api/health answered, not merely that the container started. This polls
 * it through the provider's endpoint (which can change: Docker assigns a new host port after a restart).
 */
import type { DaemonEndpoint } from "../../providers/types.ts";

export { DAEMON_PORT } from "../../providers/types.ts";

export async function probeHealth(endpoint: DaemonEndpoint, timeoutMs = 1_000): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint.url}/api/health`, {
      headers: endpoint.headers,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

export type WaitForHealthOptions = {
  endpoint: () => Promise<DaemonEndpoint>;
  timeoutMs: number;
  intervalMs?: number;
  signal?: AbortSignal;
};

/** Resolves when health answers; rejects with a message after `timeoutMs`. Polls fast: boot takes ~0.3–1 s. */
export async function waitForHealth(options: WaitForHealthOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 25;
  let endpoint: DaemonEndpoint | null = null;
  while (Date.now() < deadline) {
    options.signal?.throwIfAborted();
    endpoint ??= await options.endpoint().catch(() => null);
    if (endpoint && (await probeHealth(endpoint, Math.min(1_000, Math.max(100, deadline - Date.now()))))) return;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
  throw new Error(`The machine's daemon did not answer /api/health within ${Math.round(options.timeoutMs / 1000)} s`);
}
