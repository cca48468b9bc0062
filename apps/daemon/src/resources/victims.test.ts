import { describe, expect, it } from "vitest";

import { type ProcessInfo, processKey } from "./processes";
import { nameVictims } from "./victims";

const MB = 1024 * 1024;
const proc = (pid: number, name: string, rssMb: number, extra: Partial<ProcessInfo> = {}): ProcessInfo => ({
  pid,
  startTime: pid * 10,
  name,
  rssBytes: rssMb * MB,
  exited: false,
  ...extra,
});
const daemon = proc(212, "node", 70);
const tmux = proc(377, "tmux", 5);
const aliveAfter = (...ps: ProcessInfo[]) => new Set(ps.map(processKey));
const base = { killedChildren: [], exposedAdj: 500 };

describe("naming the OOM killer's victims", () => {
  it("names the process that vanished with the largest RSS", () => {
    const victims = nameVictims({
      ...base,
      kills: 1,
      before: [daemon, tmux, proc(388, "node", 180), proc(390, "ls", 2)],
      alive: aliveAfter(daemon, tmux),
      survivors: [
        { rssBytes: 70 * MB, oomScoreAdj: 0 },
        { rssBytes: 5 * MB, oomScoreAdj: 500 },
      ],
    });
    expect(victims).toEqual([{ process: "node", pid: 388, rssBytes: 180 * MB }]);
  });

  it("never names a process that is still alive, but does a pid reused by a new process (new start time)", () => {
    const reused = { ...proc(388, "node", 180), startTime: 99999 };
    const victims = nameVictims({
      ...base,
      kills: 1,
      before: [daemon, proc(388, "node", 180)],
      alive: aliveAfter(daemon, reused),
      survivors: [],
    });
    expect(victims).toEqual([{ process: "node", pid: 388, rssBytes: 180 * MB }]);
    expect(nameVictims({ ...base, kills: 1, before: [daemon], alive: aliveAfter(daemon), survivors: [] })).toEqual([
      { process: null, pid: null, rssBytes: null },
    ]);
  });

  it("prefers a command the daemon saw die of a SIGKILL it did not send, even one no snapshot caught", () => {
    const victims = nameVictims({
      ...base,
      kills: 1,
      // A large process also exited meanwhile, on its own.
      before: [daemon, tmux, proc(400, "esbuild", 90)],
      alive: aliveAfter(daemon, tmux),
      killedChildren: [{ pid: 512, name: "node" }],
      survivors: [],
    });
    expect(victims).toEqual([{ process: "node", pid: 512, rssBytes: null }]);
  });

  it("names an exec command by what it had become, when a snapshot saw it exec another program", () => {
    const victims = nameVictims({
      ...base,
      kills: 1,
      before: [daemon, proc(401, "node", 240)],
      alive: aliveAfter(daemon),
      killedChildren: [{ pid: 401, name: "bash" }],
      survivors: [{ rssBytes: 70 * MB, oomScoreAdj: 0 }],
    });
    expect(victims).toEqual([{ process: "node", pid: 401, rssBytes: 240 * MB }]);
  });

  it("names no one rather than a small process that merely exited while a much larger one lived on", () => {
    const claude = proc(300, "claude", 250);
    const victims = nameVictims({
      ...base,
      kills: 1,
      // The real victim came and went between two snapshots; `git` just exited.
      before: [daemon, claude, proc(401, "git", 8)],
      alive: aliveAfter(daemon, claude),
      survivors: [
        { rssBytes: 70 * MB, oomScoreAdj: 0 },
        { rssBytes: 250 * MB, oomScoreAdj: 500 },
      ],
    });
    expect(victims).toEqual([{ process: null, pid: null, rssBytes: null }]);
  });

  it("does not let the daemon's own size (it is not exposed like its children) rule a victim out", () => {
    const victims = nameVictims({
      ...base,
      kills: 1,
      before: [proc(212, "node", 400), proc(388, "python3", 60)],
      alive: aliveAfter(proc(212, "node", 400)),
      survivors: [{ rssBytes: 400 * MB, oomScoreAdj: 0 }],
    });
    expect(victims).toEqual([{ process: "python3", pid: 388, rssBytes: 60 * MB }]);
  });

  it("names as many victims as kills, largest first, and null for the kills it cannot explain", () => {
    const victims = nameVictims({
      ...base,
      kills: 3,
      before: [daemon, proc(388, "node", 120), proc(389, "python3", 150)],
      alive: aliveAfter(daemon),
      survivors: [],
    });
    expect(victims).toEqual([
      { process: "python3", pid: 389, rssBytes: 150 * MB },
      { process: "node", pid: 388, rssBytes: 120 * MB },
      { process: null, pid: null, rssBytes: null },
    ]);
  });

  it("ignores processes that were zombies already before the kill", () => {
    const victims = nameVictims({
      ...base,
      kills: 1,
      before: [daemon, proc(388, "node", 180, { exited: true })],
      alive: aliveAfter(daemon),
      survivors: [],
    });
    expect(victims).toEqual([{ process: null, pid: null, rssBytes: null }]);
  });
});
