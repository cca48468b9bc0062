/**
 * The process around a running os2: last-resort handlers that log a stray fault instead of ending the
 * process, and a bounded, orderly shutdown on SIGTERM/SIGINT. Used by the production entry and the dev
 * server, so they behave alike (the chaos and SIGTERM tests drive the production entry itself).
 */
import type { Server } from "node:http";

import type { Os2 } from "../app.ts";
import type { Logger } from "../logger.ts";

/** A bug that escapes every handler is logged loudly, with its stack; the server keeps serving. */
export function installProcessGuards(log: Logger): void {
  process.on("unhandledRejection", (reason: unknown) => {
    log.error("unhandled promise rejection (a bug: please report it); os2 keeps running", {
      reason: reason instanceof Error ? (reason.stack ?? reason.message) : String(reason),
    });
  });
  process.on("uncaughtException", (error: Error) => {
    log.error("uncaught exception (a bug: please report it); os2 keeps running", {
      stack: error.stack ?? error.message,
    });
  });
}

export const SHUTDOWN_GRACE_MS = 10_000;

/**
 * On SIGTERM or SIGINT: stop accepting connections, end open terminals, previews and streams, let requests
 * in flight finish (up to `graceMs`), stop the reconciler, close the database, exit. Nothing is left half
 * done that the next start cannot finish: machine rows are written before and after provider work, and the
 * reconciler completes whatever was interrupted.
 */
export function shutDownOnSignals(options: {
  server: Server;
  os2: Pick<Os2, "close" | "closeConnections">;
  log: Logger;
  graceMs?: number;
  beforeClose?: () => Promise<void>;
}): void {
  const graceMs = options.graceMs ?? SHUTDOWN_GRACE_MS;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    options.log.info(`${signal}: shutting down (requests in flight get up to ${graceMs / 1000} s)`);
    // A last resort if closing hangs on something unforeseen.
    setTimeout(() => {
      options.log.error("shutdown did not finish in time; exiting anyway");
      process.exit(1);
    }, graceMs + 5_000).unref();
    const closed = new Promise<void>((resolve) => options.server.close(() => resolve()));
    options.server.closeIdleConnections();
    options.os2.closeConnections();
    const waited = await Promise.race([
      closed.then(() => "drained" as const),
      new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), graceMs).unref()),
    ]);
    if (waited === "timeout") {
      options.log.warn("requests still open after the grace period; closing them");
      options.server.closeAllConnections();
    }
    await options.beforeClose?.();
    await options.os2.close();
    options.log.info(`stopped in ${Date.now() - started} ms`);
    process.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      shutdown(signal).catch((error: unknown) => {
        options.log.error("shutdown failed", { error: String(error) });
        process.exit(1);
      });
    });
  }
}
