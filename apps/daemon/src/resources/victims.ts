import { type ProcessInfo, processKey } from "./processes";

/** A process the daemon started that died of a SIGKILL the daemon did not send (the OOM killer's signal). */
export type KilledChild = { pid: number; name: string };

/** A process still alive after the kill, with how readily the OOM killer takes it. */
export type Survivor = { rssBytes: number; oomScoreAdj: number };

export type Victim = { process: string | null; pid: number | null; rssBytes: number | null };

const UNKNOWN: Victim = { process: null, pid: null, rssBytes: null };

/**
 * Names the processes the OOM killer took when the cgroup's `oom_kill` counter went up by `kills`.
 *
 * The killer picks the process with the largest badness: its memory (RSS, swap, page tables) plus
 * `oom_score_adj` thousandths of the limit. So, in this order:
 * 1. the daemon's own children that died of a SIGKILL it did not send (exec commands): direct evidence,
 *    and it covers a command that allocated its way to the limit between two snapshots;
 * 2. processes that vanished between `before` (snapshots taken before and around the kill) and `alive`
 *    (after it), largest RSS first, but only those that were plausibly the killer's choice: at least half
 *    the size of the largest survivor that was as exposed to the killer (`oomScoreAdj >= exposedAdj`). A
 *    small process that merely exited meanwhile (`git status`) is not named for a large one that came and
 *    went unseen.
 * Whatever stays unexplained is `null`: a wrong name is worse than none.
 */
export function nameVictims(input: {
  kills: number;
  before: ProcessInfo[];
  alive: ReadonlySet<string>;
  killedChildren: KilledChild[];
  survivors: Survivor[];
  /** The `oom_score_adj` the daemon gives its children: vanished processes are assumed to have had it. */
  exposedAdj: number;
}): Victim[] {
  const victims: Victim[] = [];
  const named = new Set<number>();
  const lastSeen = new Map<number, ProcessInfo>();
  for (const p of input.before) {
    const seen = lastSeen.get(p.pid);
    if (!seen || p.rssBytes > seen.rssBytes) lastSeen.set(p.pid, p);
  }

  const children = input.killedChildren
    .map((child) => ({ child, rss: lastSeen.get(child.pid)?.rssBytes ?? null }))
    .sort((a, b) => (b.rss ?? -1) - (a.rss ?? -1));
  for (const { child, rss } of children) {
    if (victims.length === input.kills) break;
    if (named.has(child.pid)) continue;
    named.add(child.pid);
    // The snapshot's name wins: a command that exec'd into another program (`bash -c "exec node …"`)
    // died as that program.
    victims.push({ process: lastSeen.get(child.pid)?.name ?? child.name, pid: child.pid, rssBytes: rss });
  }

  const exposed = input.survivors.filter((s) => s.oomScoreAdj >= input.exposedAdj);
  const largestSurvivor = Math.max(0, ...exposed.map((s) => s.rssBytes));
  const vanished = input.before
    .filter((p) => !p.exited && !input.alive.has(processKey(p)) && !named.has(p.pid))
    .sort((a, b) => b.rssBytes - a.rssBytes);
  for (const p of vanished) {
    if (victims.length === input.kills) break;
    if (named.has(p.pid)) continue;
    if (p.rssBytes === 0 || p.rssBytes * 2 < largestSurvivor) break; // the rest are smaller still
    named.add(p.pid);
    victims.push({ process: p.name, pid: p.pid, rssBytes: p.rssBytes });
  }

  while (victims.length < input.kills) victims.push(UNKNOWN);
  return victims;
}
