import { describe, expect, it } from "vitest";

import { DomainError } from "../services/errors.ts";
import { whileMachineReadable } from "./live-access.ts";

const address = { organizationSlug: "acme", projectSlug: "web", machineId: "mach_1" };
const log = { warn: () => undefined, error: () => undefined, info: () => undefined, debug: () => undefined };

/** A context whose access check answers `verdict()` each time it is asked. */
function contextWith(verdict: () => Error | null) {
  let checks = 0;
  const ctx = {
    headers: new Headers({ cookie: "session=1" }),
    log,
    services: {
      access: {
        identify: () => Promise.resolve({ kind: "user" }),
        machine: () => {
          checks += 1;
          const error = verdict();
          return error ? Promise.reject(error) : Promise.resolve({});
        },
      },
    },
  } as unknown as Parameters<typeof whileMachineReadable>[0];
  return { ctx, checks: () => checks };
}

const waitFor = (signal: AbortSignal, ms: number) =>
  new Promise<boolean>((resolve) => {
    if (signal.aborted) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve(true)), { once: true });
  });

describe("whileMachineReadable", () => {
  it("ends a subscription within one re-check of the caller losing access, saying why", async () => {
    let removed = false;
    const { ctx, checks } = contextWith(() => (removed ? new DomainError("not_found", "Machine not found") : null));
    const live = whileMachineReadable(ctx, address, new AbortController().signal, 30);
    expect(await waitFor(live.signal, 100)).toBe(false);
    expect(checks()).toBeGreaterThan(0);
    removed = true;
    expect(await waitFor(live.signal, 200)).toBe(true);
    expect(live.lost()?.code).toBe("NOT_FOUND");
  });

  it("keeps the subscription while the database is unreachable", async () => {
    const outage = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    const { ctx, checks } = contextWith(() => outage);
    const live = whileMachineReadable(ctx, address, new AbortController().signal, 20);
    expect(await waitFor(live.signal, 150)).toBe(false);
    expect(checks()).toBeGreaterThan(1);
    live.stop();
  });

  it("follows the client's own signal, and stops re-checking after it", async () => {
    const client = new AbortController();
    const { ctx, checks } = contextWith(() => null);
    const live = whileMachineReadable(ctx, address, client.signal, 20);
    client.abort();
    expect(live.signal.aborted).toBe(true);
    expect(live.lost()).toBeNull();
    const after = checks();
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(checks()).toBe(after);
  });
});
