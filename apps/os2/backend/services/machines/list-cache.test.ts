import { describe, expect, it } from "vitest";

import { MachineListCache } from "./list-cache.ts";

function clock() {
  let now = 1_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("MachineListCache", () => {
  it("answers every caller within the moment from one read, and reads again after it", async () => {
    const time = clock();
    const cache = new MachineListCache({ ttlMs: 1_000, maxEntries: 10, now: time.now });
    let reads = 0;
    const load = async () => ({ read: ++reads });
    const [x, y] = await Promise.all([cache.get("org_a", "page", load), cache.get("org_a", "page", load)]);
    expect(reads).toBe(1);
    expect(x).toBe(y);
    time.advance(999);
    expect(await cache.get("org_a", "page", load)).toBe(x);
    time.advance(1);
    expect(await cache.get("org_a", "page", load)).toEqual({ read: 2 });
  });

  it("forgets one organization's pages and keeps the others'", async () => {
    const cache = new MachineListCache({ ttlMs: 60_000, maxEntries: 10 });
    let reads = 0;
    const load = async () => ++reads;
    await cache.get("org_a", "a-page", load);
    await cache.get("org_b", "b-page", load);
    cache.forget("org_a");
    expect(await cache.get("org_a", "a-page", load)).toBe(3);
    expect(await cache.get("org_b", "b-page", load)).toBe(2);
  });

  it("does not keep a failed read: the next caller reads again", async () => {
    const cache = new MachineListCache({ ttlMs: 60_000, maxEntries: 10 });
    await expect(cache.get("org_a", "page", () => Promise.reject(new Error("database down")))).rejects.toThrow();
    await Promise.resolve();
    expect(await cache.get("org_a", "page", async () => "fresh")).toBe("fresh");
  });

  it("holds at most maxEntries pages, however many keys callers make up", async () => {
    const cache = new MachineListCache({ ttlMs: 60_000, maxEntries: 3 });
    for (let i = 0; i < 100; i++) await cache.get("org_a", `page-${i}`, async () => i);
    expect(cache.size).toBe(3);
  });

  it("a page is only ever its own organization's, even under the same key", async () => {
    const cache = new MachineListCache({ ttlMs: 60_000, maxEntries: 10 });
    await cache.get("org_a", "page", async () => "a's");
    expect(await cache.get("org_b", "page", async () => "b's")).toBe("b's");
  });

  it("with a moment of 0, every call reads", async () => {
    const cache = new MachineListCache({ ttlMs: 0, maxEntries: 10 });
    let reads = 0;
    await cache.get("org_a", "page", async () => ++reads);
    await cache.get("org_a", "page", async () => ++reads);
    expect(reads).toBe(2);
    expect(cache.size).toBe(0);
  });
});
