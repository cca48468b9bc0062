import { closeSync, openSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";

/** One process as `/proc/<pid>/stat` (and, once per process, `cmdline`) describes it. */
export type ProcessInfo = {
  pid: number;
  /** Identifies the process across pid reuse: its start time, in clock ticks since boot. */
  startTime: number;
  /** Command name (see `commandName`). */
  name: string;
  /** Resident memory in bytes. */
  rssBytes: number;
  /** Zombies (`Z`) and dead (`X`) processes have already released their memory. */
  exited: boolean;
};

/** `pid:startTime`: one process for as long as it lives, never a later process that reuses its pid. */
export const processKey = (p: Pick<ProcessInfo, "pid" | "startTime">) => `${p.pid}:${p.startTime}`;

const PAGE_SIZE = 4096;

/**
 * Parses `/proc/<pid>/stat`: `pid (comm) state ppid …`, where `comm` may itself hold spaces and parentheses,
 * so the fields are counted from the last `)`. Field 22 is `starttime`, field 24 `rss` (in pages).
 */
export function parseProcStat(
  text: string,
  pageSize = PAGE_SIZE,
): { pid: number; comm: string; state: string; startTime: number; rssBytes: number } | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const rest = text
    .slice(close + 2)
    .trim()
    .split(" ");
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const state = rest[0];
  const startTime = Number(rest[19]);
  const rssPages = Number(rest[21]);
  if (!Number.isInteger(pid) || !state || !Number.isFinite(startTime) || !Number.isFinite(rssPages)) return undefined;
  return { pid, comm: text.slice(open + 1, close), state, startTime, rssBytes: Math.max(0, rssPages) * pageSize };
}

/**
 * The name of the command a process runs: the file name of its argv[0] (`node`, `python3`, `nginx` for
 * "nginx: master process …"), else its `comm`. Not `comm` first: Node 24 renames its main thread to
 * "MainThread", which would name every Node process alike.
 */
export function commandName(cmdline: string, comm: string): string | undefined {
  const argv0 = cmdline.split("\0")[0] ?? "";
  const fromArgv = (argv0.trim().split(/\s+/)[0] ?? "").split("/").pop()?.replace(/:$/, "");
  return fromArgv || comm.trim() || undefined;
}

// One buffer for every read: a snapshot allocates only the strings it keeps.
const buffer = Buffer.alloc(4096);

function readSmall(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.toString("latin1", 0, n);
  } catch {
    return undefined; // The process exited meanwhile, or it is not ours to read.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Reads every process in `/proc` (pid → name, RSS). Synchronous on purpose: /proc files are generated in
 * memory, and a few hundred tiny reads take well under a millisecond, less than handing each to the thread
 * pool would. `names` caches argv[0] per process (key, then comm), so `cmdline` is read once per process
 * and not at every snapshot; entries of processes that are gone are dropped.
 */
export function readProcesses(procRoot: string, names: Map<string, string>): ProcessInfo[] {
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return [];
  }
  const seen = new Set<string>();
  const processes: ProcessInfo[] = [];
  for (const entry of entries) {
    const code = entry.charCodeAt(0);
    if (code < 48 || code > 57) continue; // not a pid
    const text = readSmall(join(procRoot, entry, "stat"));
    const stat = text === undefined ? undefined : parseProcStat(text);
    if (!stat) continue;
    // The comm is part of the key: an exec() changes it, and then argv[0] is read again.
    const key = `${stat.pid}:${stat.startTime}:${stat.comm}`;
    seen.add(key);
    let name = names.get(key);
    if (name === undefined) {
      name = commandName(readSmall(join(procRoot, entry, "cmdline")) ?? "", stat.comm) ?? stat.comm;
      names.set(key, name);
    }
    processes.push({
      pid: stat.pid,
      startTime: stat.startTime,
      name,
      rssBytes: stat.rssBytes,
      exited: stat.state === "Z" || stat.state === "X",
    });
  }
  for (const key of names.keys()) if (!seen.has(key)) names.delete(key);
  return processes;
}
