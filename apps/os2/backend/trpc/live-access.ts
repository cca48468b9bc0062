/**
 * Access for a long-lived subscription (a followed log, a usage stream). The caller was checked when it
 * subscribed; while it stays subscribed, the same credential is checked again every few seconds (as the
 * proxy's live connections are), so a removed member, a revoked token or a deleted machine stops receiving
 * within seconds, not when the stream ends. Each open stream also holds one of the caller's stream slots
 * (services/stream-slots.ts), so no one caller can hold unbounded server-side streams.
 */
import { TRPCError } from "@trpc/server";

import { asDomainError } from "../services/errors.ts";
import { isDatabaseOutage } from "../services/outages.ts";
import type { Context } from "./context.ts";
import { DOMAIN_ERROR_CODES } from "./init.ts";

export const LIVE_RECHECK_MS = 3_000;

export type MachineAddress = { organizationSlug: string; projectSlug: string; machineId: string };

/**
 * A signal that aborts when `signal` does (the client left) or when the caller may no longer read the
 * machine; `lost()` then says why, as the tRPC error to end the stream with. `stop()` ends the re-checks.
 */
export function whileMachineReadable(
  ctx: Pick<Context, "services" | "headers" | "log">,
  address: MachineAddress,
  signal: AbortSignal | undefined,
  intervalMs = LIVE_RECHECK_MS,
) {
  const controller = new AbortController();
  let reason: TRPCError | null = null;
  const onAbort = () => controller.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  let checking = false;
  const timer = setInterval(() => {
    if (checking || controller.signal.aborted) return;
    checking = true;
    recheck(ctx, address)
      .then((error) => {
        if (!error) return;
        reason = error;
        controller.abort();
      })
      .finally(() => {
        checking = false;
      })
      // recheck answers every failure itself; nothing else here can throw.
      .catch((error: unknown) => ctx.log.error("a live access re-check failed", { error: String(error) }));
  }, intervalMs);
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    signal?.removeEventListener("abort", onAbort);
  };
  controller.signal.addEventListener("abort", stop, { once: true });
  return { signal: controller.signal, lost: () => reason, stop };
}

/** Null while the caller may still read the machine; the error to end with otherwise. */
async function recheck(ctx: Pick<Context, "services" | "headers" | "log">, address: MachineAddress) {
  try {
    const caller = await ctx.services.access.identify(ctx.headers);
    await ctx.services.access.machine(caller, address);
    return null;
  } catch (error) {
    // The database is down: keep the stream, as the proxy's live connections do.
    if (isDatabaseOutage(error)) return null;
    const domain = asDomainError(error);
    if (domain && ["not_found", "unauthorized", "forbidden"].includes(domain.kind))
      return new TRPCError({ code: DOMAIN_ERROR_CODES[domain.kind], message: domain.message });
    ctx.log.warn("re-checking a subscription's access failed; keeping it for now", { error: String(error) });
    return null;
  }
}

/**
 * One of the caller's stream slots, held until `release()` (the subscription's `finally`) or until `signal`
 * aborts (the client left), whichever comes first. Throws TOO_MANY_REQUESTS, naming the limit, when the
 * caller already holds all of theirs, and SERVICE_UNAVAILABLE when the server holds all it allows. Take it
 * after the procedure's access check, so that only callers who may read the stream can use up slots, and
 * only their own.
 */
export function holdStreamSlot(ctx: Pick<Context, "services" | "caller">, signal: AbortSignal | undefined) {
  let free: () => void;
  try {
    free = ctx.services.streamSlots.take(ctx.caller);
  } catch (error) {
    throw asStreamError(error);
  }
  const release = () => {
    signal?.removeEventListener("abort", release);
    free();
  };
  if (signal?.aborted) release();
  else signal?.addEventListener("abort", release, { once: true });
  return { release };
}

/** A service or provider error raised mid-stream, as the tRPC error the client is shown. */
export function asStreamError(error: unknown): unknown {
  if (error instanceof TRPCError) return error;
  const domain = asDomainError(error);
  return domain ? new TRPCError({ code: DOMAIN_ERROR_CODES[domain.kind], message: domain.message }) : error;
}
