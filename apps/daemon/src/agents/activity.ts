import { readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";

/**
 * Syscall numbers (from /proc/<pid>/syscall) of a process blocked on input: `read`/`readv` name the fd they
 * read; the poll family (an interactive shell's readline sits in pselect6) does not, so for those the
 * process's stdin must be the terminal.
 */
const SYSCALLS: Partial<Record<NodeJS.Architecture, { reads: number[]; polls: number[] }>> = {
  x64: { reads: [0, 19], polls: [7, 23, 270, 271] },
  arm64: { reads: [63, 65], polls: [72, 73] },
};
/** Kernel functions a process sleeps in while reading a tty (the fallback when `syscall` is not readable). */
const TTY_READ_WCHANS = new Set(["n_tty_read", "wait_woken"]);
/** Bounds the /proc scan, whatever runs in the machine. */
const MAX_PROCESSES = 20_000;

type ProcStat = { pid: number; comm: string; state: string; pgrp: number; session: number; tpgid: number };

/** Parses /proc/<pid>/stat; `comm` is in parentheses and may itself hold spaces and parentheses. */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const [state = "", , pgrp = "", session = "", , tpgid = ""] = fields;
  const stat = {
    pid,
    comm: text.slice(open + 1, close),
    state,
    pgrp: Number(pgrp),
    session: Number(session),
    tpgid: Number(tpgid),
  };
  return Number.isInteger(stat.pid) && Number.isInteger(stat.tpgid) ? stat : undefined;
}

const readStat = (procRoot: string, pid: number | string) =>
  readFile(join(procRoot, String(pid), "stat"), "utf8").then(parseStat, () => undefined);

/** Whether this process is blocked reading `tty`; undefined when /proc does not say. */
async function readsTty(procRoot: string, pid: number, tty: string): Promise<boolean> {
  const dir = join(procRoot, String(pid));
  const stdinIsTty = () =>
    readlink(join(dir, "fd", "0")).then(
      (target) => target === tty,
      () => false,
    );
  const syscalls = SYSCALLS[process.arch];
  const syscall = await readFile(join(dir, "syscall"), "utf8").catch(() => undefined);
  if (syscall !== undefined && syscalls) {
    const [nr = "", fd = ""] = syscall.trim().split(/\s+/);
    const number = Number(nr);
    if (syscalls.reads.includes(number)) {
      const target = await readlink(join(dir, "fd", String(Number.parseInt(fd, 16)))).catch(() => "");
      return target === tty;
    }
    if (syscalls.polls.includes(number)) return stdinIsTty();
    if (/^-?\d+$/.test(nr)) return false;
  }
  const wchan = (await readFile(join(dir, "wchan"), "utf8").catch(() => "")).trim();
  return TTY_READ_WCHANS.has(wchan) && stdinIsTty();
}

/**
 * The name of the process in the terminal's foreground that waits for the user to type (blocked reading
 * the pane's tty), or undefined when none does. `panePid` is the pane's process, the session leader of `tty`.
 */
export async function foregroundReaderOf(procRoot: string, panePid: number, tty: string): Promise<string | undefined> {
  const leader = await readStat(procRoot, panePid);
  if (!leader || leader.tpgid <= 0) return undefined;
  const entries = await readdir(procRoot).catch(() => [] as string[]);
  const pids = entries.filter((name) => /^\d+$/.test(name)).slice(0, MAX_PROCESSES);
  for (const pid of pids) {
    const stat = await readStat(procRoot, pid);
    if (!stat || stat.pgrp !== leader.tpgid || stat.session !== leader.session || stat.state !== "S") continue;
    if (await readsTty(procRoot, stat.pid, tty)) return stat.comm;
  }
  return undefined;
}
