import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, describe, expect, it } from "vitest";

import { parseProcStat, readProcesses } from "./processes";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

describe("process snapshots from /proc", () => {
  const temp: string[] = [];
  afterAll(async () => {
    for (const dir of temp) await rm(dir, { recursive: true, force: true });
  });

  it("parses /proc/<pid>/stat even when the command name holds spaces and parentheses", () => {
    const line = "4242 (we(ird) name) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 777 9000 25 1 2 3\n";
    expect(parseProcStat(line)).toEqual({
      pid: 4242,
      comm: "we(ird) name",
      state: "S",
      startTime: 777,
      rssBytes: 25 * 4096,
    });
    expect(parseProcStat("garbage")).toBeUndefined();
  });

  it("names each process by its argv[0] (node, not Node 24's MainThread; tmux, not `tmux: server`) with its RSS", () => {
    const processes = readProcesses(join(fixtures, "proc"), new Map());
    expect(processes.sort((a, b) => a.pid - b.pid)).toEqual([
      { pid: 1, startTime: 5412, name: "tini", rssBytes: 180 * 4096, exited: false },
      { pid: 212, startTime: 5530, name: "node", rssBytes: 17000 * 4096, exited: false },
      { pid: 377, startTime: 6001, name: "tmux", rssBytes: 1200 * 4096, exited: false },
      { pid: 388, startTime: 6100, name: "node", rssBytes: 40000 * 4096, exited: false },
    ]);
  });

  it("reads argv[0] once per process, again after an exec (new comm), and forgets processes that are gone", async () => {
    const proc = await mkdtemp(join(tmpdir(), "os2-proc-"));
    temp.push(proc);
    await cp(join(fixtures, "proc", "388"), join(proc, "388"), { recursive: true });
    const names = new Map<string, string>();
    expect(readProcesses(proc, names).map((p) => p.name)).toEqual(["node"]);
    // A cached name is not read again: a changed cmdline alone does not change it.
    await writeFile(join(proc, "388/cmdline"), "renamed\0");
    expect(readProcesses(proc, names).map((p) => p.name)).toEqual(["node"]);
    // exec() changes comm: then argv[0] is read again.
    const stat = await readFile(join(proc, "388/stat"), "utf8");
    await writeFile(join(proc, "388/stat"), stat.replace("(node)", "(python3)"));
    await writeFile(join(proc, "388/cmdline"), "python3\0-c\0pass\0");
    expect(readProcesses(proc, names).map((p) => p.name)).toEqual(["python3"]);
    await rm(join(proc, "388"), { recursive: true });
    expect(readProcesses(proc, names)).toEqual([]);
    expect(names.size).toBe(0);
  });

  it("flags zombies as exited (their memory is already released)", async () => {
    const proc = await mkdtemp(join(tmpdir(), "os2-proc-"));
    temp.push(proc);
    await cp(join(fixtures, "proc", "388"), join(proc, "388"), { recursive: true });
    const stat = await readFile(join(proc, "388/stat"), "utf8");
    await writeFile(join(proc, "388/stat"), stat.replace("(node) R", "(node) Z"));
    expect(readProcesses(proc, new Map())[0]).toMatchObject({ pid: 388, exited: true });
  });

  it("sees this very process in the real /proc, named node, with a resident size", () => {
    const self = readProcesses("/proc", new Map()).find((p) => p.pid === process.pid);
    expect(self).toMatchObject({ name: "node", exited: false });
    expect(self?.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
  });
});
