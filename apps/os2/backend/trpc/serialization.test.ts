import superjson from "superjson";
import { describe, expect, it } from "vitest";

import { shared, transformer } from "./serialization.ts";

const page = () => ({
  machines: [{ id: "mach_1", createdAt: new Date("2026-12-02T04:00:00.123Z"), readyAt: null, n: 1 }],
  nextCursor: null,
});

describe("the tRPC output transformer", () => {
  it("encodes a shared result exactly as superjson does, once for every request that receives it", () => {
    const value = shared(page());
    const first = transformer.output.serialize(value);
    expect(first).toEqual(superjson.serialize(page()));
    expect(transformer.output.serialize(value)).toBe(first);
    // What a client decodes is the original, Dates included.
    expect(superjson.deserialize(first as ReturnType<typeof superjson.serialize>)).toEqual(page());
  });

  it("encodes every other result afresh, so a result built per request is never served stale", () => {
    const value = page();
    const first = transformer.output.serialize(value);
    value.machines[0]!.n = 2;
    expect(transformer.output.serialize(value)).not.toEqual(first);
    expect(transformer.output.serialize(null)).toEqual(superjson.serialize(null));
  });
});
