import { describe, expect, it } from "vitest";

import { ACCESS_CACHE_MS, AccessCache, sessionKey } from "./access-cache.ts";

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("sessionKey", () => {
  it("keeps only better-auth's cookies, in a stable order, so other cookies do not split a session", () => {
    const a = sessionKey("ph_x_posthog=%7B%22a%22%3A1%7D; better-auth.session_token=abc.sig; theme=dark");
    const b = sessionKey("better-auth.session_token=abc.sig; ph_x_posthog=%7B%22a%22%3A2%7D");
    expect(a).toBe("better-auth.session_token=abc.sig");
    expect(b).toBe(a);
    expect(sessionKey("__Secure-better-auth.session_token=s; better-auth.session_data=d")).toBe(
      "__Secure-better-auth.session_token=s; better-auth.session_data=d",
    );
  });

  it("is null without a session cookie (nothing to look up)", () => {
    expect(sessionKey(null)).toBeNull();
    expect(sessionKey("")).toBeNull();
    expect(sessionKey("theme=dark; not-better-auth.session_token=x")).toBeNull();
  });

  it("tells sessions apart by their token", () => {
    expect(sessionKey("better-auth.session_token=one")).not.toBe(sessionKey("better-auth.session_token=two"));
  });

  it("keeps a key small however many better-auth cookies a client sends, still telling sessions apart", () => {
    const padding = `better-auth.padding=${"x".repeat(8_000)}`;
    const one = sessionKey(`better-auth.session_token=one; ${padding}`);
    const two = sessionKey(`better-auth.session_token=two; ${padding}`);
    expect(one?.length).toBeLessThanOrEqual(64);
    expect(two?.length).toBeLessThanOrEqual(64);
    expect(one).not.toBe(two);
    expect(sessionKey(`${padding}; better-auth.session_token=one`)).toBe(one);
  });
});

describe("AccessCache", () => {
  it("reuses an answer for ACCESS_CACHE_MS and reads again after it", async () => {
    const time = clock();
    const cache = new AccessCache<string>({ now: time.now });
    let loads = 0;
    const load = async () => ({ value: `answer ${(loads += 1)}` });
    expect(await cache.get("k", load)).toBe("answer 1");
    time.advance(ACCESS_CACHE_MS - 1);
    expect(await cache.get("k", load)).toBe("answer 1");
    time.advance(1);
    expect(await cache.get("k", load)).toBe("answer 2");
    expect(loads).toBe(2);
  });

  it("never keeps an answer past the session's own expiry", async () => {
    const time = clock();
    const cache = new AccessCache<string>({ now: time.now });
    let loads = 0;
    const load = async () => ({ value: "x", expiresAt: new Date(time.now() + 500) });
    await cache.get("k", async () => ((loads += 1), load()));
    time.advance(500);
    await cache.get("k", async () => ((loads += 1), load()));
    expect(loads).toBe(2);
  });

  it("shares one load among concurrent requests for a key", async () => {
    const cache = new AccessCache<number>();
    let loads = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const load = async () => {
      loads += 1;
      await gate;
      return { value: 7 };
    };
    const answers = Promise.all(Array.from({ length: 50 }, () => cache.get("k", load)));
    release();
    expect(await answers).toEqual(Array.from({ length: 50 }, () => 7));
    expect(loads).toBe(1);
  });

  it("keeps neither refusals nor failures: the next request asks again", async () => {
    const cache = new AccessCache<string>();
    let loads = 0;
    expect(await cache.get("k", async () => ((loads += 1), null))).toBeNull();
    await expect(
      cache.get("k", async () => {
        loads += 1;
        throw new Error("database down");
      }),
    ).rejects.toThrow("database down");
    expect(await cache.get("k", async () => ((loads += 1), { value: "ok" }))).toBe("ok");
    expect(loads).toBe(3);
    expect(cache.size).toBe(1);
  });

  it("forgets everything on clear, and an answer loading meanwhile is not kept", async () => {
    const cache = new AccessCache<string>();
    await cache.get("a", async () => ({ value: "old" }));
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const loading = cache.get("b", async () => {
      await gate;
      return { value: "read before the change" };
    });
    cache.clear();
    release();
    expect(await loading).toBe("read before the change");
    expect(cache.size).toBe(0);
    expect(await cache.get("a", async () => ({ value: "new" }))).toBe("new");
    expect(await cache.get("b", async () => ({ value: "new" }))).toBe("new");
  });

  it("holds at most maxEntries, forgetting the oldest first", async () => {
    const cache = new AccessCache<number>({ maxEntries: 3 });
    for (const key of ["a", "b", "c", "d"]) await cache.get(key, async () => ({ value: 1 }));
    expect(cache.size).toBe(3);
    let reloaded = false;
    await cache.get("a", async () => ((reloaded = true), { value: 2 }));
    expect(reloaded).toBe(true);
  });
});
