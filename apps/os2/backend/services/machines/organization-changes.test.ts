import { describe, expect, it } from "vitest";

import { OrganizationChanges } from "./organization-changes.ts";

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Whether the promise settled within `ms`. */
const settlesWithin = (promise: Promise<unknown>, ms: number) =>
  Promise.race([promise.then(() => true), later(ms).then(() => false)]);

describe("OrganizationChanges (what waiting reads wake on)", () => {
  it("wakes every waiter of the organization at its next change, and no other organization's", async () => {
    const changes = new OrganizationChanges();
    const a1 = changes.next("org_a", 60_000);
    const a2 = changes.next("org_a", 60_000);
    const b = changes.next("org_b", 60_000);
    changes.fire("org_a");
    expect(await settlesWithin(Promise.all([a1.changed, a2.changed]), 100)).toBe(true);
    expect(await settlesWithin(b.changed, 50)).toBe(false);
    expect(changes.size).toBe(1);
    b.cancel();
    expect(await settlesWithin(b.changed, 50)).toBe(true);
    expect(changes.size).toBe(0);
  });

  it("resolves after its timeout with no change, and leaves nothing behind", async () => {
    const changes = new OrganizationChanges();
    const started = Date.now();
    await changes.next("org_a", 60).changed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    expect(changes.size).toBe(0);
  });

  it("a wait taken before a read is woken by a change that lands before it is awaited", async () => {
    const changes = new OrganizationChanges();
    const next = changes.next("org_a", 60_000);
    changes.fire("org_a"); // between the read and the await
    expect(await settlesWithin(next.changed, 100)).toBe(true);
  });
});
