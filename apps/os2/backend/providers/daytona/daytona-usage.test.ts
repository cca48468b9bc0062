import { describe, expect, it } from "vitest";

import { daytonaUsageReading } from "./daytona-usage";

const now = new Date("2026-12-01T12:00:00Z");

describe("Daytona's sandbox metrics", () => {
  it("turns CPU % of the sandbox's CPUs into cores, and keeps memory and disk against their totals", () => {
    const reading = daytonaUsageReading(
      { cpuCount: 2, cpuUsedPct: 50, memUsed: 512, memTotal: 2048, memCache: 10, diskUsed: 100, diskTotal: 1000 },
      now,
    );
    expect(reading).toEqual({
      at: now,
      cpuCores: 1,
      cpuLimitCores: 2,
      memoryBytes: 512,
      memoryLimitBytes: 2048,
      pids: null,
      pidsLimit: null,
      diskBytes: 100,
      diskLimitBytes: 1000,
    });
  });

  it("drops bad fields one by one and clamps the rest, never throwing", () => {
    for (const hostile of [null, "x", 5, [], { cpuCount: "2" }, { cpuUsedPct: -1, memUsed: 1e300, memTotal: 10 }]) {
      expect(() => daytonaUsageReading(hostile, now)).not.toThrow();
    }
    expect(daytonaUsageReading("x", now)).toBeNull();
    expect(daytonaUsageReading({ cpuCount: 4, cpuUsedPct: 900, memUsed: 1e300, memTotal: 10 }, now)).toMatchObject({
      cpuCores: 4,
      memoryBytes: 10,
    });
    // The SDK fills what the toolbox left out with 0: no CPUs, no memory total means no figure.
    expect(daytonaUsageReading({ cpuCount: 0, cpuUsedPct: 0, memTotal: 0, memUsed: 0 }, now)).toMatchObject({
      cpuCores: null,
      memoryBytes: null,
      memoryLimitBytes: null,
    });
  });
});
