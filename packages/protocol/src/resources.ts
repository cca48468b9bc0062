import { z } from "zod";

/**
 * One process the kernel's OOM killer killed inside the machine (its memory cgroup hit the limit, or the
 * host ran out of memory).
 */
export const oomKillSchema = z.object({
  /** ISO 8601: when the daemon noticed the kill (within about a second of it). */
  at: z.string(),
  /**
   * The victim's command name (file name of its argv[0], else its `comm`: `node`, `python3`), or null when
   * the daemon could not tell (it started or died between two looks, or the kill happened while the daemon
   * itself was down).
   */
  process: z.string().nullable(),
  pid: z.number().int().nullable(),
  /** Its resident memory when the daemon last saw it alive, in bytes; null when unknown. */
  rssBytes: z.number().int().nullable(),
});
export type OomKill = z.infer<typeof oomKillSchema>;

/** Where the daemon reads the kill counter: the machine's own cgroup, or nothing (then `kills` stays 0). */
export const cgroupSourceSchema = z.enum(["cgroup-v2", "cgroup-v1", "none"]);
export type CgroupSource = z.infer<typeof cgroupSourceSchema>;

/**
 * OOM kills inside the machine (`GET /api/oom`, and `oom` in the health response).
 *
 * `kills` only ever grows for one machine's state directory (`OS2_STATE_DIR`): it is persisted there, so
 * daemon restarts and container restarts (stop/start) keep it, and kills that happened while the daemon was
 * down are counted once it is back (with `process: null`). It starts again from 0 only when the machine's
 * filesystem is new (a machine re-created from the image).
 */
export const oomReportSchema = z.object({
  kills: z.number().int().min(0),
  /** The last kills (at most 20), oldest first; `recent.at(-1)` is the latest. */
  recent: z.array(oomKillSchema),
  source: cgroupSourceSchema,
});
export type OomReport = z.infer<typeof oomReportSchema>;

/** The most kills `recent` holds. */
export const OOM_RECENT_MAX = 20;

/**
 * `GET /api/usage`: the machine's resource use and limits from its cgroup. `null` limits are unlimited;
 * with `source: "none"` (no cgroup to read: a daemon outside a container) every figure is null.
 */
export const usageResponseSchema = z.object({
  source: cgroupSourceSchema,
  memory: z.object({
    /** Memory charged to the machine (cgroup v2 `memory.current`, v1 `memory.usage_in_bytes`), page cache included. */
    currentBytes: z.number().nullable(),
    maxBytes: z.number().nullable(),
  }),
  pids: z.object({ current: z.number().int().nullable(), max: z.number().int().nullable() }),
  cpu: z.object({
    /** CPU time used by the machine since it started, in microseconds. */
    usageUsec: z.number().nullable(),
    /** The CPU limit in CPUs (quota / period: `1.5`), null when unlimited. */
    maxCpus: z.number().nullable(),
  }),
});
export type UsageResponse = z.infer<typeof usageResponseSchema>;
