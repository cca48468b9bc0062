import { describe, expect, it } from "vitest";

import type { Caller } from "./access.ts";
import { DomainError } from "./errors.ts";
import { MAX_OPEN_STREAMS_PER_CALLER, StreamSlots } from "./stream-slots.ts";

const user = (id: string): Caller => ({
  kind: "user",
  user: { id, email: `${id}@example.com`, name: id, role: "user" },
  impersonatedBy: null,
});
const token = (tokenId: string): Caller => ({ kind: "token", tokenId, projectId: "proj_1" });

function refusal(take: () => unknown): DomainError {
  try {
    take();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("the slot was granted");
}

describe("stream slots", () => {
  it("grant up to the limit per caller, then refuse with rate_limited naming the limit and what to do", () => {
    const slots = new StreamSlots(3);
    for (let i = 0; i < 3; i += 1) slots.take(user("usr_a"));
    const error = refusal(() => slots.take(user("usr_a")));
    expect(error.kind).toBe("rate_limited");
    expect(error.message).toContain("You have 3 log or usage streams open");
    expect(error.message).toMatch(/Close machine pages or tabs/);
    expect(slots.openFor(user("usr_a"))).toBe(3);
  });

  it("count each user (across sessions) and each access token on its own", () => {
    const slots = new StreamSlots(1);
    slots.take(user("usr_a"));
    // Another session of the same user is the same user.
    expect(refusal(() => slots.take(user("usr_a"))).kind).toBe("rate_limited");
    slots.take(user("usr_b"));
    slots.take(token("tok_1"));
    expect(refusal(() => slots.take(token("tok_1"))).message).toContain("This access token has 1 log or usage");
    slots.take(token("tok_2"));
    expect(slots.open).toBe(4);
  });

  it("refuse any caller's stream with unavailable once the server holds its total, and let the next in when one ends", () => {
    const slots = new StreamSlots(2, 3);
    const freeFirst = slots.take(user("usr_a"));
    slots.take(user("usr_b"));
    slots.take(token("tok_1"));
    // A caller well within their own cap is still refused: the server is full.
    const error = refusal(() => slots.take(user("usr_c")));
    expect(error.kind).toBe("unavailable");
    expect(error.message).toMatch(/all 3 it holds at once are open \(OS2_MAX_LIVE_STREAMS\)/);
    expect(slots.openFor(user("usr_c"))).toBe(0);
    freeFirst();
    freeFirst();
    slots.take(user("usr_c"));
    expect(slots.open).toBe(3);
  });

  it("free a slot once, however often it is released", () => {
    const slots = new StreamSlots(2);
    const first = slots.take(user("usr_a"));
    slots.take(user("usr_a"));
    first();
    first();
    first();
    expect(slots.openFor(user("usr_a"))).toBe(1);
    const third = slots.take(user("usr_a"));
    expect(refusal(() => slots.take(user("usr_a"))).kind).toBe("rate_limited");
    third();
    expect(slots.openFor(user("usr_a"))).toBe(1);
    expect(slots.open).toBe(1);
  });

  it("never pool anonymous callers' streams", () => {
    const slots = new StreamSlots();
    expect(refusal(() => slots.take({ kind: "anonymous" })).kind).toBe("unauthorized");
    expect(slots.open).toBe(0);
  });

  it("default to 32 per caller", () => {
    expect(MAX_OPEN_STREAMS_PER_CALLER).toBe(32);
    expect(new StreamSlots().limit).toBe(32);
  });
});
