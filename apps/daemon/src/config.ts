import { DAEMON_PORT } from "@os2/protocol";
import { z } from "zod";

import { DEFAULT_CHILD_OOM_SCORE_ADJ } from "./oom-score";

/** The longest delay setTimeout takes (2^31 - 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The daemon's configuration, parsed once from the environment in `main.ts` and passed down. Nothing else in
 * the daemon reads `process.env`.
 */
const envSchema = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(DAEMON_PORT),
  HOST: z.string().default("0.0.0.0"),
  /** The credential the control plane's proxy adds. Unset means every protected route answers 401. */
  MACHINE_AUTH_TOKEN: z.string().min(1).optional(),
  /** A warm-pool machine's one-time credential, accepted by `PUT /api/claim` only (see http/auth.ts). */
  OS2_POOL_TOKEN: z.string().min(1).optional(),
  OS2_WORKSPACE_DIR: z.string().default("/workspace"),
  /** Agent definitions live here, so they survive daemon restarts. */
  OS2_STATE_DIR: z.string().default("/var/lib/os2"),
  /** The directory s6-svscan supervises; health reports each service in it. */
  OS2_S6_SCAN_DIR: z.string().default("/opt/os2/services"),
  /** s6-log writes each service's logs to `<dir>/<service>/current`. */
  OS2_LOG_DIR: z.string().default("/var/log/os2"),
  /** Cap for file reads and writes, in bytes. */
  OS2_FILES_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(10 * 1024 * 1024),
  /** Cap for the buffered (non-streaming) output of one exec, per stream, in bytes. */
  OS2_EXEC_MAX_OUTPUT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(10 * 1024 * 1024),
  /** tmux socket path; unset means tmux's default, so `tmux ls` inside the machine sees the same sessions. */
  OS2_TMUX_SOCKET: z.string().optional(),
  /** File descriptor s6 gave us for the readiness notification (see the service's `notification-fd`). */
  OS2_READY_FD: z.coerce.number().int().min(3).optional(),
  /** Where cgroupfs is mounted: the machine's limits, use and OOM-kill counter (see resources/cgroup.ts). */
  OS2_CGROUP_ROOT: z.string().default("/sys/fs/cgroup"),
  /**
   * How often the OOM watch reads the kill counter and the processes while the machine is busy, in ms; 0 turns
   * it off. At most setTimeout's limit (about 24.8 days): above it Node fires after 1 ms, a look every ms.
   */
  OS2_OOM_POLL_MS: z.coerce.number().int().min(0).max(MAX_TIMER_MS).default(1000),
  /** The longest wait between two looks of the OOM watch while the machine is idle (resources/watch-cadence.ts). */
  OS2_OOM_IDLE_POLL_MS: z.coerce.number().int().min(0).max(MAX_TIMER_MS).default(8000),
  /**
   * `oom_score_adj` of every process the daemon starts (exec, tmux and so terminals and agents), so the OOM
   * killer takes them before the daemon (0 leaves them at the daemon's own).
   */
  OS2_CHILD_OOM_SCORE_ADJ: z.coerce.number().int().min(0).max(1000).default(DEFAULT_CHILD_OOM_SCORE_ADJ),
  /** Replaced at bundle time with the package version and source hash. */
  OS2_DAEMON_VERSION: z.string().default("dev"),
});

export type DaemonConfig = {
  port: number;
  host: string;
  authToken: string | undefined;
  /** Set on a warm-pool machine until it is claimed. */
  poolToken?: string | undefined;
  workspaceDir: string;
  stateDir: string;
  s6ScanDir: string;
  logDir: string;
  filesMaxBytes: number;
  execMaxOutputBytes: number;
  tmuxSocket: string | undefined;
  readyFd: number | undefined;
  version: string;
  cgroupRoot: string;
  /** `/proc`; tests point it at fixtures. */
  procRoot: string;
  oomPollMs: number;
  /** Back-off ceiling of the OOM watch while idle; below `oomPollMs` it never backs off. */
  oomIdlePollMs?: number;
  childOomScoreAdj: number;
};

export function parseDaemonConfig(env: Record<string, string | undefined>): DaemonConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`Invalid daemon environment: ${issue?.path.join(".")}: ${issue?.message}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    authToken: e.MACHINE_AUTH_TOKEN,
    poolToken: e.OS2_POOL_TOKEN,
    workspaceDir: e.OS2_WORKSPACE_DIR,
    stateDir: e.OS2_STATE_DIR,
    s6ScanDir: e.OS2_S6_SCAN_DIR,
    logDir: e.OS2_LOG_DIR,
    filesMaxBytes: e.OS2_FILES_MAX_BYTES,
    execMaxOutputBytes: e.OS2_EXEC_MAX_OUTPUT_BYTES,
    tmuxSocket: e.OS2_TMUX_SOCKET,
    readyFd: e.OS2_READY_FD,
    version: e.OS2_DAEMON_VERSION,
    cgroupRoot: e.OS2_CGROUP_ROOT,
    procRoot: "/proc",
    oomPollMs: e.OS2_OOM_POLL_MS,
    oomIdlePollMs: e.OS2_OOM_IDLE_POLL_MS,
    childOomScoreAdj: e.OS2_CHILD_OOM_SCORE_ADJ,
  };
}
