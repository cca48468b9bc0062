/**
 * One GET with a hard deadline, resolving to the status once the body is read (0 on any error). Not
 * fetch: a connection that docker-proxy accepts before anything listens behind it can stall, and undici's
 * timers do not keep the process alive, so a stalled fetch can silently end a run. Used by the benches and
 * the sandbox tests to poll freshly started containers.
 */
import { get } from "node:http";

export function httpStatus(
  url: string,
  options: { timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<number> {
  return new Promise((resolve) => {
    const request = get(url, { headers: options.headers ?? {} }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    });
    const timer = setTimeout(() => request.destroy(), options.timeoutMs ?? 2_000);
    request.on("error", () => resolve(0));
    request.on("close", () => clearTimeout(timer));
  });
}

/** The p-th percentile (nearest rank) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}
