import { describe, expect, it } from "vitest";

import { DockerStatsReader, LineSplitter, MAX_STATS_LINE_BYTES } from "./docker-stats";

/** A line of Docker 20.10's stats stream on a cgroup v1 host, cut down to the fields os2 reads and a few more. */
function statsLine(overrides: { total?: number; system?: number; read?: string; extra?: object } = {}) {
  return JSON.stringify({
    read: overrides.read ?? "2026-12-01T20:36:14.106599273Z",
    preread: "2026-12-01T20:36:13.103685147Z",
    pids_stats: { current: 7, limit: 512 },
    num_procs: 0,
    cpu_stats: {
      cpu_usage: { total_usage: overrides.total ?? 70_468_021, percpu_usage: [52_958_994, 17_509_027] },
      system_cpu_usage: overrides.system ?? 50_223_780_000_000,
      online_cpus: 2,
    },
    precpu_stats: { cpu_usage: { total_usage: 0 }, system_cpu_usage: 0, online_cpus: 2 },
    memory_stats: {
      usage: 300 * 1024 * 1024,
      limit: 1024 * 1024 * 1024,
      stats: { total_inactive_file: 100 * 1024 * 1024, inactive_file: 1, rss: 123 },
    },
    ...overrides.extra,
  });
}

describe("Docker's stats stream", () => {
  it("reads memory without the inactive page cache, processes and their limits, and CPU from two samples", () => {
    const reader = new DockerStatsReader();
    const first = reader.readLine(statsLine());
    expect(first?.stopped).toBe(false);
    expect(first?.reading).toMatchObject({
      cpuCores: null,
      memoryBytes: 200 * 1024 * 1024,
      memoryLimitBytes: 1024 * 1024 * 1024,
      pids: 7,
      pidsLimit: 512,
      at: new Date("2026-12-01T20:36:14.106Z"),
    });
    // One second of host time on 2 CPUs is 2e9 ns of system time; 0.75 s of the container's CPU time in it.
    const second = reader.readLine(statsLine({ total: 70_468_021 + 750_000_000, system: 50_223_780_000_000 + 2e9 }));
    expect(second?.reading.cpuCores).toBeCloseTo(0.75, 5);
  });

  it("says the container stopped when Docker sends its zero-time samples", () => {
    const reading = new DockerStatsReader().readLine(statsLine({ read: "0001-01-01T00:00:00Z" }));
    expect(reading?.stopped).toBe(true);
  });

  it("survives hostile and garbled lines: no throw, absurd figures clamped, bad fields dropped one by one", () => {
    const reader = new DockerStatsReader();
    for (const line of ["", "not json", "null", "[]", "42", '"str"', "{", '{"read": 5}', "\u0000\u00ff"]) {
      expect(() => reader.readLine(line)).not.toThrow();
    }
    expect(reader.readLine("not json")).toBeNull();
    expect(reader.readLine("[1,2]")).toBeNull();

    const hostile = reader.readLine(
      JSON.stringify({
        read: "x".repeat(10_000),
        pids_stats: { current: -5, limit: "lots" },
        cpu_stats: { cpu_usage: { total_usage: 1e300 }, system_cpu_usage: -1, online_cpus: 1e9 },
        memory_stats: { usage: 1e300, limit: { nested: true }, stats: { total_inactive_file: "x" } },
      }),
    );
    expect(hostile).not.toBeNull();
    expect(hostile?.reading).toMatchObject({
      pids: null,
      pidsLimit: null,
      memoryBytes: Number.MAX_SAFE_INTEGER,
      memoryLimitBytes: null,
      cpuCores: null,
    });
    expect(Number.isNaN(hostile?.reading.at.getTime())).toBe(false);

    // Counters that go backwards (or a payload that claims so) give no CPU figure, never a negative one.
    const cpu = new DockerStatsReader();
    cpu.readLine(statsLine({ total: 5e9, system: 1e12 }));
    expect(cpu.readLine(statsLine({ total: 1e9, system: 2e12 }))?.reading.cpuCores).toBeNull();
    // More CPU time than the host had: at most every CPU the host has.
    cpu.readLine(statsLine({ total: 1e9, system: 3e12 }));
    expect(cpu.readLine(statsLine({ total: 1e15, system: 3e12 + 1 }))?.reading.cpuCores).toBe(2);
  });

  it("splits lines across chunks and refuses a line that grows past the bound", () => {
    const splitter = new LineSplitter(64);
    expect(splitter.push(Buffer.from('{"a":'))).toEqual([]);
    expect(splitter.push(Buffer.from('1}\n{"b":2}\n\n{"c"'))).toEqual(['{"a":1}', '{"b":2}']);
    expect(splitter.push(Buffer.from(":3}\n"))).toEqual(['{"c":3}']);

    const bounded = new LineSplitter(64);
    expect(() => {
      for (let i = 0; i < 10; i += 1) bounded.push(Buffer.from("x".repeat(10)));
    }).toThrow(/longer than 64 bytes/);
    expect(MAX_STATS_LINE_BYTES).toBeGreaterThanOrEqual(64 * 1024);
  });
});
