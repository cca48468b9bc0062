/**
 * Children the daemon starts (exec commands, the tmux server and so every terminal and agent, the terminal's
 * `script` relay) begin with a raised `oom_score_adj`, so when the machine runs out of memory the kernel
 * kills a runaway command rather than the daemon. The daemon cannot lower its own score as a non-root user
 * (that needs CAP_SYS_RESOURCE), but any process may raise its own, and children inherit it across fork and
 * exec. A tiny `sh` writes it, then `exec`s the command in the same process (same pid, so process groups and
 * exit statuses are unchanged); a failed write (no /proc) is ignored.
 */
export const DEFAULT_CHILD_OOM_SCORE_ADJ = 500;

const SCRIPT = (adj: number) => `{ echo ${adj} >/proc/self/oom_score_adj; } 2>/dev/null; exec "$@"`;

/** `[file, args]` that run `command args` with `oom_score_adj` raised to `adj` (0 leaves it alone). */
export function withRaisedOomScore(command: string, args: string[], adj: number): [string, string[]] {
  if (adj <= 0) return [command, args];
  return ["/bin/sh", ["-c", SCRIPT(Math.min(1000, Math.round(adj))), "os2-oom", command, ...args]];
}
