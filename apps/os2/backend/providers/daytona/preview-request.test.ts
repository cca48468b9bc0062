import { describe, expect, it } from "vitest";

import type { DaemonEndpoint } from "../types";
import { fetchThroughPreview, type PreviewEndpointSource, PreviewTokenRejectedError } from "./preview-request";
import { InMemoryPreviewTokenStore } from "./preview-token-store";

/**
 * A preview source over an in-memory token store, as DaytonaProvider does it: a store miss asks "Daytona"
 * (here: a counter that hands out the current token) and caches the answer.
 */
function previewSource(store: InMemoryPreviewTokenStore, issueToken: () => string) {
  const stats = { fetchedFromDaytona: 0 };
  const source: PreviewEndpointSource = {
    async daemonEndpoint(externalId, port): Promise<DaemonEndpoint> {
      let preview = await store.get(externalId, port);
      if (!preview) {
        stats.fetchedFromDaytona++;
        preview = { url: `http://preview.test/${externalId}/${port}`, token: issueToken() };
        await store.set(externalId, port, preview);
      }
      return { url: preview.url, headers: { "x-daytona-preview-token": preview.token } };
    },
    invalidatePreviewToken: (externalId, port) => store.delete(externalId, port),
  };
  return { source, stats };
}

/** A preview proxy that accepts only `currentToken`. */
function previewProxy(currentToken: () => string) {
  const seenTokens: (string | null)[] = [];
  const fetchImpl: typeof fetch = async (_input, init) => {
    const token = new Headers(init?.headers).get("x-daytona-preview-token");
    seenTokens.push(token);
    if (token !== currentToken()) return new Response("bad token", { status: 401 });
    return Response.json({ ok: true });
  };
  return { fetchImpl, seenTokens };
}

describe("fetchThroughPreview", () => {
  it("uses the cached token without asking Daytona again", async () => {
    const store = new InMemoryPreviewTokenStore();
    await store.set("sb1", 3000, { url: "http://preview.test/sb1/3000", token: "t1" });
    const { source, stats } = previewSource(store, () => "t1");
    const proxy = previewProxy(() => "t1");
    const response = await fetchThroughPreview({
      source,
      externalId: "sb1",
      port: 3000,
      path: "/api/health",
      fetch: proxy.fetchImpl,
    });
    expect(response.status).toBe(200);
    expect(stats.fetchedFromDaytona).toBe(0);
  });

  it("after a 401 refreshes the token once and succeeds", async () => {
    const store = new InMemoryPreviewTokenStore();
    await store.set("sb1", 3000, { url: "http://preview.test/sb1/3000", token: "stale" });
    const { source, stats } = previewSource(store, () => "fresh");
    const proxy = previewProxy(() => "fresh");
    const response = await fetchThroughPreview({
      source,
      externalId: "sb1",
      port: 3000,
      path: "/api/health",
      fetch: proxy.fetchImpl,
    });
    expect(response.status).toBe(200);
    expect(proxy.seenTokens).toEqual(["stale", "fresh"]);
    expect(stats.fetchedFromDaytona).toBe(1);
    expect(await store.get("sb1", 3000)).toEqual({ url: "http://preview.test/sb1/3000", token: "fresh" });
  });

  it("fetches the token after a restart (empty store) without a 401 round", async () => {
    const { source, stats } = previewSource(new InMemoryPreviewTokenStore(), () => "t1");
    const proxy = previewProxy(() => "t1");
    const response = await fetchThroughPreview({
      source,
      externalId: "sb1",
      port: 3000,
      path: "/",
      fetch: proxy.fetchImpl,
    });
    expect(response.status).toBe(200);
    expect(proxy.seenTokens).toEqual(["t1"]);
    expect(stats.fetchedFromDaytona).toBe(1);
  });

  it("on a second 401 throws a clear error instead of retrying forever", async () => {
    const store = new InMemoryPreviewTokenStore();
    let issued = 0;
    const { source, stats } = previewSource(store, () => `issued-${++issued}`);
    const proxy = previewProxy(() => "never-issued");
    const error = await fetchThroughPreview({
      source,
      externalId: "sb1",
      port: 3000,
      path: "/",
      fetch: proxy.fetchImpl,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreviewTokenRejectedError);
    expect(String(error)).toMatch(/rejected the token for port 3000 of sandbox sb1 twice/);
    expect(proxy.seenTokens).toHaveLength(2);
    expect(stats.fetchedFromDaytona).toBe(2);
    expect(await store.get("sb1", 3000)).toBeNull();
  });

  it("replays the request body on the retry", async () => {
    const store = new InMemoryPreviewTokenStore();
    await store.set("sb1", 3000, { url: "http://preview.test/sb1/3000", token: "stale" });
    const { source } = previewSource(store, () => "fresh");
    const bodies: string[] = [];
    const fetchImpl: typeof fetch = async (_input, init) => {
      bodies.push(String(init?.body));
      const token = new Headers(init?.headers).get("x-daytona-preview-token");
      return new Response(null, { status: token === "fresh" ? 204 : 401 });
    };
    const response = await fetchThroughPreview({
      source,
      externalId: "sb1",
      port: 3000,
      path: "/api/exec",
      init: { method: "POST", body: '{"cmd":"ls"}' },
      fetch: fetchImpl,
    });
    expect(response.status).toBe(204);
    expect(bodies).toEqual(['{"cmd":"ls"}', '{"cmd":"ls"}']);
  });
});
