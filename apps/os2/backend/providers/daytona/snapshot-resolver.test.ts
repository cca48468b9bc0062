import { describe, expect, it } from "vitest";

import { snapshotName } from "../../../sandbox/snapshot-name";
import { computeStage, StageError } from "../../stage";
import { isProviderError } from "../errors";
import type { Clock } from "./clock";
import {
  defaultSnapshotPrefix,
  SNAPSHOT_CACHE_TTL_MS,
  SnapshotNotFoundError,
  SnapshotResolver,
} from "./snapshot-resolver";

class FakeClock implements Clock {
  constructor(private time = Date.parse("2026-03-04T05:06:07Z")) {}
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

type FakeSnapshot = { id: string; name: string; state: string; createdAt: string };

/** A fake of `GET /snapshots` that counts requests and can hold them open to test request collapsing. */
function fakeSnapshotsApi(initial: FakeSnapshot[], options: { honourQuery?: boolean; gate?: Promise<void> } = {}) {
  let snapshots = initial;
  const requests: URL[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    requests.push(url);
    const auth = new Headers(init?.headers).get("authorization");
    if (auth !== "Bearer test-key") return Response.json({ statusCode: 401, message: "Unauthorized" }, { status: 401 });
    if (options.gate) await options.gate;
    let items = [...snapshots];
    if (options.honourQuery) {
      const name = url.searchParams.get("name") ?? "";
      items = items.filter((s) => s.name.includes(name)).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    }
    return Response.json({ items, total: items.length, page: 1, totalPages: 1 });
  };
  return {
    fetchImpl,
    requests,
    replace(next: FakeSnapshot[]) {
      snapshots = next;
    },
  };
}

const snap = (name: string, createdAt: string, state = "active"): FakeSnapshot => ({
  id: `id-${name}`,
  name,
  state,
  createdAt,
});

function resolverFor(api: ReturnType<typeof fakeSnapshotsApi>, clock = new FakeClock()) {
  return new SnapshotResolver({ apiKey: "test-key", apiUrl: "http://daytona.test/api", clock, fetch: api.fetchImpl });
}

describe("snapshot naming and stage", () => {
  it("names snapshots <stage>--<YYYYMMDD-HHMMSS> in UTC, matching the resolver's default prefix", () => {
    const date = new Date("2026-01-02T03:04:05.678Z");
    expect(snapshotName("stg", date)).toBe("stg--20260102-030405");
    expect(snapshotName("dev-ann", date)).toBe("dev-ann--20260102-030405");
    expect(snapshotName("stg", date).startsWith(defaultSnapshotPrefix("stg"))).toBe(true);
  });

  it("uses UTC even when the local date differs (late evening west of Greenwich)", () => {
    expect(snapshotName("prd", new Date("2026-12-31T23:59:59Z"))).toBe("prd--20261231-235959");
  });

  it("derives the stage from ITERATE_USER first, then APP_STAGE", () => {
    expect(computeStage({ ITERATE_USER: "ann", APP_STAGE: "stg" })).toBe("dev-ann");
    expect(computeStage({ ITERATE_USER: "unknown", APP_STAGE: "stg" })).toBe("stg");
    expect(computeStage({ APP_STAGE: "pr-123" })).toBe("pr-123");
  });

  it("fails naming both ITERATE_USER and APP_STAGE when neither is set", () => {
    expect(() => computeStage({})).toThrow(StageError);
    expect(() => computeStage({ ITERATE_USER: "unknown" })).toThrow(/ITERATE_USER.*APP_STAGE/);
  });
});

describe("SnapshotResolver", () => {
  it("asks for the prefix newest-first and takes the newest active match", async () => {
    const api = fakeSnapshotsApi([
      snap("stg--20260101-000000", "2026-01-01T00:00:00Z"),
      snap("stg--20260301-000000", "2026-03-01T00:00:00Z", "build_failed"),
      snap("stg--20260201-000000", "2026-02-01T00:00:00Z"),
      snap("prd--20260401-000000", "2026-04-01T00:00:00Z"),
      snap("xstg--20260501-000000", "2026-05-01T00:00:00Z"),
    ]);
    const resolved = await resolverFor(api).resolve("stg--");
    expect(resolved.name).toBe("stg--20260201-000000");
    const url = api.requests[0];
    expect(url?.pathname).toBe("/api/snapshots");
    expect(url?.searchParams.get("name")).toBe("stg--");
    expect(url?.searchParams.get("sort")).toBe("createdAt");
    expect(url?.searchParams.get("order")).toBe("desc");
  });

  it("fails naming the prefix and `pnpm snapshot:daytona` when nothing active matches", async () => {
    const api = fakeSnapshotsApi([snap("stg--20260101-000000", "2026-01-01T00:00:00Z", "building")]);
    const error = await resolverFor(api)
      .resolve("stg--")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnapshotNotFoundError);
    expect(String(error)).toContain('"stg--"');
    expect(String(error)).toContain("pnpm snapshot:daytona");
  });

  it("serves a cached answer for 5 minutes, then asks again and sees the new snapshot", async () => {
    const clock = new FakeClock();
    const api = fakeSnapshotsApi([snap("stg--20260101-000000", "2026-01-01T00:00:00Z")], { honourQuery: true });
    const resolver = resolverFor(api, clock);
    expect((await resolver.resolve("stg--")).name).toBe("stg--20260101-000000");
    api.replace([
      snap("stg--20260101-000000", "2026-01-01T00:00:00Z"),
      snap("stg--20260102-000000", "2026-01-02T00:00:00Z"),
    ]);

    clock.advance(SNAPSHOT_CACHE_TTL_MS - 1);
    expect((await resolver.resolve("stg--")).name).toBe("stg--20260101-000000");
    expect(api.requests).toHaveLength(1);

    clock.advance(1);
    expect((await resolver.resolve("stg--")).name).toBe("stg--20260102-000000");
    expect(api.requests).toHaveLength(2);
  });

  it("caches per prefix", async () => {
    const api = fakeSnapshotsApi(
      [snap("stg--20260101-000000", "2026-01-01T00:00:00Z"), snap("prd--20260101-000000", "2026-01-01T00:00:00Z")],
      { honourQuery: true },
    );
    const resolver = resolverFor(api);
    expect((await resolver.resolve("stg--")).name).toBe("stg--20260101-000000");
    expect((await resolver.resolve("prd--")).name).toBe("prd--20260101-000000");
    await resolver.resolve("stg--");
    expect(api.requests.map((u) => u.searchParams.get("name"))).toEqual(["stg--", "prd--"]);
  });

  it.each(["dev-ann--", "local-bob--"])("never caches the dev prefix %s", async (prefix) => {
    const api = fakeSnapshotsApi([snap(`${prefix}20260101-000000`, "2026-01-01T00:00:00Z")]);
    const resolver = resolverFor(api);
    await resolver.resolve(prefix);
    await resolver.resolve(prefix);
    await resolver.resolve(prefix);
    expect(api.requests).toHaveLength(3);
  });

  it("collapses 100 concurrent resolutions into exactly 1 upstream request", async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // A dev prefix, so the count cannot come from the cache: only request sharing can keep it at 1.
    const api = fakeSnapshotsApi([snap("dev-ann--20260101-000000", "2026-01-01T00:00:00Z")], { gate });
    const resolver = resolverFor(api);
    const all = Promise.all(Array.from({ length: 100 }, () => resolver.resolve("dev-ann--")));
    await new Promise((resolve) => setTimeout(resolve, 10));
    release();
    const results = await all;
    expect(api.requests).toHaveLength(1);
    expect(new Set(results.map((r) => r.name))).toEqual(new Set(["dev-ann--20260101-000000"]));
  });

  it("lets one caller give up without failing the others sharing the request", async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const api = fakeSnapshotsApi([snap("stg--20260101-000000", "2026-01-01T00:00:00Z")], { gate });
    const resolver = resolverFor(api);
    const controller = new AbortController();
    const impatient = resolver.resolve("stg--", controller.signal);
    const patient = resolver.resolve("stg--");
    controller.abort();
    const impatientError = await impatient.catch((e: unknown) => e);
    expect(isProviderError(impatientError, "timeout")).toBe(true);
    release();
    expect((await patient).name).toBe("stg--20260101-000000");
    expect(api.requests).toHaveLength(1);
  });

  it("does not cache failures", async () => {
    const api = fakeSnapshotsApi([]);
    const resolver = resolverFor(api);
    await expect(resolver.resolve("stg--")).rejects.toBeInstanceOf(SnapshotNotFoundError);
    api.replace([snap("stg--20260101-000000", "2026-01-01T00:00:00Z")]);
    expect((await resolver.resolve("stg--")).name).toBe("stg--20260101-000000");
  });

  it("maps a rejected API key to `unavailable` naming DAYTONA_API_KEY", async () => {
    const api = fakeSnapshotsApi([]);
    const resolver = new SnapshotResolver({ apiKey: "wrong", apiUrl: "http://daytona.test/api", fetch: api.fetchImpl });
    const error = await resolver.resolve("stg--").catch((e: unknown) => e);
    expect(isProviderError(error, "unavailable")).toBe(true);
    expect(String(error)).toContain("DAYTONA_API_KEY");
  });

  it("maps an unreachable API to `unreachable`", async () => {
    const resolver = new SnapshotResolver({ apiKey: "k", apiUrl: "http://127.0.0.1:9/api" });
    const error = await resolver.resolve("stg--").catch((e: unknown) => e);
    expect(isProviderError(error, "unreachable")).toBe(true);
  });
});
