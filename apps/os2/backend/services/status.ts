/**
 * Whether the parts os2 depends on answer: the database and each machine provider. Cheap and cached for a
 * moment, so the dashboard's outage banner can poll it; concurrent asks share one probe.
 */
import { sql } from "drizzle-orm";

import type { Db } from "../db/client.ts";
import type { MachineService } from "./machines/machine-service.ts";

const CACHE_MS = 2_000;
const PROBE_TIMEOUT_MS = 2_000;

export type PartStatus = { ok: boolean; message?: string };
export type SystemStatus = {
  status: "ok" | "degraded";
  database: PartStatus;
  providers: Array<{ type: string; ok: boolean; message?: string }>;
};

export class StatusService {
  private cached: { at: number; value: Promise<SystemStatus> } | null = null;

  constructor(private readonly deps: { db: Db; machines: MachineService }) {}

  current(): Promise<SystemStatus> {
    if (this.cached && Date.now() - this.cached.at < CACHE_MS) return this.cached.value;
    const value = this.probe();
    this.cached = { at: Date.now(), value };
    return value;
  }

  private async probe(): Promise<SystemStatus> {
    const database = await withTimeout(this.deps.db.execute(sql`select 1`), PROBE_TIMEOUT_MS).then(
      () => ({ ok: true }),
      () => ({ ok: false, message: "The database is unreachable; os2 keeps retrying." }),
    );
    const availability = await this.deps.machines.availability().catch(() => []);
    const providers = availability.map((entry) =>
      entry.available
        ? { type: entry.type, ok: true }
        : // Unconfigured providers (no DAYTONA_API_KEY) are not an outage.
          { type: entry.type, ok: /not configured/i.test(entry.reason), message: entry.reason },
    );
    const degraded = !database.ok || providers.some((provider) => !provider.ok);
    return { status: degraded ? "degraded" : "ok", database, providers };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
