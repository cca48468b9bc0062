import { describe, expect, it } from "vitest";

import type { MachineAccess } from "../services/access.ts";
import { type AccessAnswer, DecisionCache } from "./doors.ts";

const allowed: AccessAnswer = { status: "ok", access: {} as MachineAccess };

describe("DecisionCache (a door's access decisions)", () => {
  it("reuses a granted decision, and asks again after a clear", async () => {
    const cache = new DecisionCache(60_000);
    let asked = 0;
    const decide = async () => {
      asked++;
      return allowed;
    };
    await cache.get("k", decide);
    await cache.get("k", decide);
    expect(asked).toBe(1);
    expect(cache.peek("k")).toBe(allowed);
    cache.clear();
    expect(cache.peek("k")).toBeUndefined();
    await cache.get("k", decide);
    expect(asked).toBe(2);
  });

  it("does not keep a decision that was being made when the access service forgot what it was made from", async () => {
    const cache = new DecisionCache(60_000);
    let answer!: (value: AccessAnswer) => void;
    const inFlight = cache.get("k", () => new Promise<AccessAnswer>((resolve) => (answer = resolve)));
    // A member is removed here (or on another instance) while the decision is still being read.
    cache.clear();
    answer(allowed);
    // The request that asked gets its answer, but the next one asks again.
    expect(await inFlight).toBe(allowed);
    expect(cache.peek("k")).toBeUndefined();
  });

  it("keeps no refusal and, with a lifetime of 0 (OS2_ACCESS_CACHE_MS=0), nothing at all", async () => {
    const refusing = new DecisionCache(60_000);
    await refusing.get("k", async () => ({ status: "unauthorized" }));
    expect(refusing.peek("k")).toBeUndefined();
    const off = new DecisionCache(0);
    await off.get("k", async () => allowed);
    expect(off.peek("k")).toBeUndefined();
  });
});
