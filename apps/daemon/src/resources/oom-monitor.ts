import { readFileSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

import { OOM_RECENT_MAX, type OomKill, oomKillSchema, type OomReport } from "@os2/protocol";
import { z } from "zod";

import { describePathError } from "../user";
import { type CgroupFiles, readActivity, readOomKillCount } from "./cgroup";
import { type ProcessInfo, processKey, readProcesses } from "./processes";
import { type KilledChild, nameVictims, type Survivor } from "./victims";
import { type CadenceSample, machineLooksBusy, nextDelayMs } from "./watch-cadence";

export type OomMonitorOptions = {
  cgroup: CgroupFiles;
  procRoot: string;
  /** Where the count is persisted (`$OS2_STATE_DIR/oom.json`); undefined keeps it in memory only. */
  stateFile: string | undefined;
  /** How often to look while the machine is busy; 0 = only when `tick()` is called (tests). */
  pollMs: number;
  /** The longest wait between two looks while the machine is idle (see `watch-cadence.ts`); >= `pollMs`. */
  idlePollMs?: number;
  /** The `oom_score_adj` the daemon gives its children (see `oom-score.ts`). */
  childOomScoreAdj: number;
  /** How long after seeing the counter go up to look again: the victim finishes dying, exec reports it. */
  settleMs?: number;
  log?: (line: string) => void;
};

const stateSchema = z.object({
  version: z.literal(1),
  kills: z.number().int().min(0),
  recent: z.array(oomKillSchema),
  /** Which container run `counter` belongs to (host boot id and PID 1's start time). */
  run: z.string(),
  /** The cgroup's `oom_kill` when `kills` was last brought up to date. */
  counter: z.number().int().min(0),
});
type OomState = z.infer<typeof stateSchema>;

/** How soon to look after an exec'd command died of a foreign SIGKILL: the kill counter is already up. */
const KILLED_CHILD_LOOK_MS = 50;
const DEFAULT_IDLE_POLL_MS = 8000;

/**
 * Watches the machine's OOM kills. Each look samples the cgroup's CPU and memory (three small files),
 * snapshots the processes (pid → name, RSS) and then reads the cgroup's `oom_kill` counter (in that order,
 * so a kill the counter shows happened after the snapshot before it). When the counter went up it looks
 * again shortly after and names the victims (`nameVictims`). It looks once a second (`pollMs`) while the
 * machine is busy and backs off to once every `idlePollMs` while it is idle (`watch-cadence.ts`); a
 * request that starts work (`noteActivity`) or an exec'd command's foreign SIGKILL brings it back at once.
 * Without a kill counter (no cgroup, or a v1 kernel before 4.13) there is nothing to watch: it never looks.
 *
 * `kills` is the machine's total, persisted in the state dir. The cgroup counter belongs to one container
 * run: it survives daemon restarts (kills while the daemon was down are added with `process: null`) and
 * starts again at 0 when the container restarts, which `run` tells apart.
 */
export class OomMonitor {
  private kills = 0;
  private recent: OomKill[] = [];
  private counter: number | undefined;
  private run = "?";
  private previous: ProcessInfo[] = [];
  private readonly names = new Map<string, string>();
  private killedChildren: Array<KilledChild & { notedAt: number }> = [];
  private cached: OomReport | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When the pending look is due (ms, monotonic); undefined when none is scheduled. */
  private dueAtMs: number | undefined;
  private lastDelayMs = 0;
  private lastSample: CadenceSample | undefined;
  /** What the last look's sample said, against the one before it. */
  private lastLookBusy = true;
  /** Work was started since the last look was scheduled (noteActivity, noteKilledChild). */
  private busyHint = false;
  private stopped = false;
  private ticking: Promise<void> | undefined;
  private started = false;
  private persistFailed = false;
  /** The write in flight, if any (persist never rejects). */
  private persisting: Promise<void> = Promise.resolve();

  constructor(private readonly options: OomMonitorOptions) {}

  /**
   * Loads the persisted count, catches up with the counter, and starts polling. Synchronous (a few small
   * files), so the very first report after a daemon restart already holds the saved count: the control
   * plane must never see it drop. Idempotent.
   */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.load();
    if (this.polling()) this.schedule(this.options.pollMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dueAtMs = undefined;
  }

  /** Someone started work in the machine (exec, a terminal's input, an agent): look within `pollMs`. */
  noteActivity(): void {
    this.lookWithin(this.options.pollMs);
  }

  report(): OomReport {
    this.cached ??= { kills: this.kills, recent: [...this.recent], source: this.options.cgroup.source };
    return this.cached;
  }

  /** exec: a command the daemon started died of a SIGKILL the daemon did not send. */
  noteKilledChild(pid: number, name: string): void {
    this.killedChildren.push({ pid, name, notedAt: performance.now() });
    if (this.killedChildren.length > 100) this.killedChildren.shift();
    this.lookWithin(KILLED_CHILD_LOOK_MS);
  }

  /** Whether the timer runs: a positive `pollMs` and a kill counter to read. */
  private polling(): boolean {
    return this.options.pollMs > 0 && this.options.cgroup.oomEvents !== undefined;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.lastDelayMs = delayMs;
    this.dueAtMs = performance.now() + delayMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dueAtMs = undefined;
      this.tick()
        .catch((error: unknown) => this.log(`OOM watch failed: ${String(error)}`))
        .finally(() => {
          // Unless stop() ran meanwhile, or a look was already scheduled.
          if (!this.stopped && this.timer === undefined) this.schedule(this.nextDelay());
        });
    }, delayMs);
    this.timer.unref();
  }

  /** Brings the pending look forward to within `delayMs`; a look in progress reschedules after itself. */
  private lookWithin(delayMs: number): void {
    this.busyHint = true;
    // No look pending: none is polled, or one is in progress and schedules the next when it ends.
    if (this.dueAtMs === undefined || this.dueAtMs <= performance.now() + delayMs) return;
    this.schedule(delayMs);
  }

  private nextDelay(): number {
    const busy = this.busyHint || this.lastLookBusy;
    this.busyHint = false;
    return nextDelayMs({
      busy,
      lastDelayMs: this.lastDelayMs,
      baseMs: this.options.pollMs,
      idleMaxMs: this.options.idlePollMs ?? DEFAULT_IDLE_POLL_MS,
    });
  }

  /** One look (what the timer runs); concurrent calls share the look in progress. */
  tick(): Promise<void> {
    this.ticking ??= this.look().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async look(): Promise<void> {
    this.start();
    const sample: CadenceSample = {
      ...readActivity(this.options.cgroup),
      ownCpuUsec: ownCpuUsec(),
      atMs: performance.now(),
    };
    this.lastLookBusy = machineLooksBusy(this.lastSample, sample);
    this.lastSample = sample;
    const snapshot = this.snapshot();
    const readAt = performance.now();
    const counter = readOomKillCount(this.options.cgroup);
    if (counter === undefined || this.counter === undefined || counter <= this.counter) {
      // No kill (or a counter that went down: not the cgroup we knew; start over from it). Children
      // noted before this read died of someone else's SIGKILL.
      if (counter !== undefined) this.counter = counter;
      this.killedChildren = this.killedChildren.filter((c) => c.notedAt > readAt);
      this.previous = snapshot;
      return;
    }
    const kills = counter - this.counter;
    this.counter = counter;
    await new Promise((resolve) => setTimeout(resolve, this.options.settleMs ?? 300));
    const after = this.snapshot().filter((p) => !p.exited);
    const victims = nameVictims({
      kills,
      before: [...this.previous, ...snapshot],
      alive: new Set(after.map(processKey)),
      killedChildren: this.killedChildren,
      survivors: this.survivors(after),
      exposedAdj: this.options.childOomScoreAdj,
    });
    this.killedChildren = [];
    this.previous = after;
    const at = new Date().toISOString();
    for (const victim of victims) {
      this.log(
        `out of memory: the kernel killed ${victim.process ?? "a process"}${victim.pid ? ` (pid ${victim.pid})` : ""}`,
      );
    }
    this.record(victims.map((v) => ({ at, ...v })));
    await this.persisting;
    this.persisting = this.persist();
    await this.persisting;
  }

  private snapshot(): ProcessInfo[] {
    return readProcesses(this.options.procRoot, this.names);
  }

  /** Read only when a kill happened: how exposed each survivor was (`oom_score_adj`). */
  private survivors(after: ProcessInfo[]): Survivor[] {
    return after.map((p) => ({ rssBytes: p.rssBytes, oomScoreAdj: readOomScoreAdj(this.options.procRoot, p.pid) }));
  }

  private record(kills: OomKill[]): void {
    if (!kills.length) return;
    this.kills += kills.length;
    this.recent = [...this.recent, ...kills].slice(-OOM_RECENT_MAX);
    this.cached = undefined;
  }

  private load(): void {
    this.run = readRunId(this.options.procRoot);
    const saved = this.readState();
    if (saved) {
      this.kills = saved.kills;
      this.recent = saved.recent.slice(-OOM_RECENT_MAX);
    }
    this.previous = this.snapshot();
    const counter = readOomKillCount(this.options.cgroup);
    this.counter = counter;
    this.cached = undefined;
    if (counter === undefined) return;
    // Kills the counter holds that no daemon has counted yet: all of them in a new container run, those
    // since the last count in the same run. Without a saved state nothing was ever counted.
    const missed = saved && saved.run === this.run ? Math.max(0, counter - saved.counter) : counter;
    if (missed > 0) {
      this.log(`out of memory: ${missed} process(es) were killed while the daemon was not watching`);
      const at = new Date().toISOString();
      this.record(Array.from({ length: missed }, () => ({ at, process: null, pid: null, rssBytes: null })));
    }
    // Written only once there is something to keep: until then "no file" means "nothing counted yet".
    if (saved || this.kills > 0) this.persisting = this.persist();
  }

  private readState(): OomState | undefined {
    const file = this.options.stateFile;
    if (!file) return undefined;
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") this.log(describePathError("read", file, error));
      return undefined;
    }
    try {
      return stateSchema.parse(JSON.parse(text));
    } catch (error) {
      this.log(`${file} is not a valid OOM state file (${String(error).slice(0, 200)}); starting from 0`);
      return undefined;
    }
  }

  private async persist(): Promise<void> {
    const file = this.options.stateFile;
    if (!file || this.counter === undefined) return;
    const state: OomState = {
      version: 1,
      kills: this.kills,
      recent: this.recent,
      run: this.run,
      counter: this.counter,
    };
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(tmp, JSON.stringify(state));
      await rename(tmp, file);
      this.persistFailed = false;
    } catch (error) {
      // Once per failure streak: the count still works in memory, it just will not survive a restart.
      if (!this.persistFailed) this.log(`${describePathError("write", tmp, error)}; OOM kills are kept in memory only`);
      this.persistFailed = true;
    }
  }

  private log(line: string): void {
    (this.options.log ?? ((l: string) => console.error(`[daemon] ${l}`)))(line);
  }
}

function ownCpuUsec(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function readOomScoreAdj(procRoot: string, pid: number): number {
  try {
    return Number(readFileSync(join(procRoot, String(pid), "oom_score_adj"), "latin1").trim()) || 0;
  } catch {
    return 0;
  }
}

/** One container run: the host's boot and the start time of the container's PID 1. */
function readRunId(procRoot: string): string {
  const read = (file: string) => {
    try {
      return readFileSync(join(procRoot, file), "latin1");
    } catch {
      return "";
    }
  };
  const init = read("1/stat");
  const startTime = init.slice(init.lastIndexOf(")") + 2).split(" ")[19] ?? "?";
  return `${read("sys/kernel/random/boot_id").trim() || "?"}/${startTime}`;
}
