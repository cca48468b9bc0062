import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";

import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";

import { type PostHogStandin, startPostHogStandin } from "../../test-support/posthog-standin/standin.ts";
import { createIngestProxy, deriveAssetsHost, type IngestProxyOptions } from "./ingest-proxy.ts";

/** Servers and stand-ins started by a test, closed after it whether it passed or not. */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Serves the proxy the way the os2 server will: mounted at /ingest, on @hono/node-server. */
async function startProxy(options: IngestProxyOptions): Promise<string> {
  const app = new Hono();
  app.get("/health", (c) => c.text("ok"));
  app.route("/ingest", createIngestProxy(options));
  const server = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(started));
  });
  cleanups.push(() => closeServer(server));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`;
}

async function startStandin(): Promise<PostHogStandin> {
  const standin = await startPostHogStandin();
  cleanups.push(() => standin.close());
  return standin;
}

function closeServer(server: ServerType | Server): Promise<void> {
  return new Promise((resolve) => {
    if ("closeAllConnections" in server) server.closeAllConnections();
    server.close(() => resolve());
  });
}

describe("ingest proxy", () => {
  it("forwards an allowed path with the gzip body byte for byte and the query string kept", async () => {
    const standin = await startStandin();
    const proxy = await startProxy({ posthogHost: standin.url });
    const body = gzipSync(JSON.stringify({ api_key: "phc_test", batch: [{ event: "$pageview", properties: {} }] }));

    const response = await fetch(`${proxy}/e/?compression=gzip-js&ver=1.449.2&_=123`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body,
    });

    expect(response.status).toBe(200);
    expect(await response.text()).toBe("{}");
    const [forwarded] = standin.requests;
    expect(forwarded?.path).toBe("/e/");
    expect(forwarded?.search).toBe("?compression=gzip-js&ver=1.449.2&_=123");
    expect(forwarded?.body.equals(body)).toBe(true);
    expect(forwarded?.headers["content-type"]).toBe("text/plain");
    expect(standin.events().map((e) => e.event)).toEqual(["$pageview"]);
  });

  it("adds the client's socket address as X-Forwarded-For and drops cookies and authorization", async () => {
    const standin = await startStandin();
    const proxy = await startProxy({ posthogHost: standin.url });

    await fetch(`${proxy}/flags/?v=2`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        cookie: "better-auth.session_token=SESSION-SECRET",
        authorization: "Bearer AUTH-SECRET",
        // A client-supplied value must not be trusted as the client IP.
        "x-forwarded-for": "203.0.113.9",
        "user-agent": "probe-agent/1.0",
      },
      body: "{}",
    });

    const headers = standin.requests[0]?.headers ?? {};
    expect(headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(headers["user-agent"]).toBe("probe-agent/1.0");
    expect(headers).not.toHaveProperty("cookie");
    expect(headers).not.toHaveProperty("authorization");
    expect(JSON.stringify(headers)).not.toContain("SECRET");
  });

  it("answers 404 for paths outside PostHog's ingestion and static paths, and forwards nothing", async () => {
    const standin = await startStandin();
    const proxy = await startProxy({ posthogHost: standin.url });

    for (const path of ["/api/projects/", "/", "/admin", "/e", "/decidex/"]) {
      const response = await fetch(`${proxy}${path}`, { method: "POST", body: "{}" });
      expect(response.status, path).toBe(404);
    }
    // Paths an upstream would normalise into a forbidden one. Sent raw: fetch would normalise them first.
    for (const path of ["/e/../api/", "/e/%2e%2e/api/", "/static/..%2fapi/"]) {
      expect(await postRawPath(proxy, path), path).toBe(404);
    }
    expect(standin.requests).toHaveLength(0);
  });

  it("forwards the static and config paths posthog-js loads, and passes no set-cookie back", async () => {
    const upstream = await startRawUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "application/javascript", "set-cookie": "ph=1", "x-internal": "1" });
      res.end("// bundle");
    });
    const proxy = await startProxy({ posthogHost: upstream.url });

    const response = await fetch(`${proxy}/static/1.449.2/lazy-recorder.js?v=1`);

    expect(response.status).toBe(200);
    expect(await response.text()).toBe("// bundle");
    expect(response.headers.get("content-type")).toBe("application/javascript");
    expect(response.headers.get("set-cookie")).toBeNull();
    expect(response.headers.get("x-internal")).toBeNull();
    expect(upstream.paths).toEqual(["/static/1.449.2/lazy-recorder.js?v=1"]);
  });

  it("streams the request body: upstream sees the first chunk before the client sends the rest", async () => {
    let firstChunkSeen: () => void = () => undefined;
    const firstChunkArrived = new Promise<void>((resolve) => (firstChunkSeen = resolve));
    const upstream = await startRawUpstream((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        firstChunkSeen();
      });
      req.on("end", () => res.writeHead(200).end(Buffer.concat(chunks)));
    });
    const proxy = await startProxy({ posthogHost: upstream.url });

    // The second chunk is only produced once upstream has the first: a buffering proxy would deadlock here.
    const encoder = new TextEncoder();
    let step = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        step += 1;
        if (step === 1) return controller.enqueue(encoder.encode("first-"));
        await withTimeout(firstChunkArrived, 5_000, "upstream never saw the first chunk: the body was buffered");
        controller.enqueue(encoder.encode("second"));
        controller.close();
      },
    });
    const response = await fetch(`${proxy}/s/`, { method: "POST", body, duplex: "half" } as RequestInit);

    expect(await response.text()).toBe("first-second");
  });

  it("streams the response body: the client reads the first chunk before upstream sends the rest", async () => {
    let clientGotFirstChunk: () => void = () => undefined;
    const clientRead = new Promise<void>((resolve) => (clientGotFirstChunk = resolve));
    const upstream = await startRawUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first-");
      void withTimeout(clientRead, 5_000, "client never got the first chunk").then(
        () => res.end("second"),
        () => res.end("timed-out"),
      );
    });
    const proxy = await startProxy({ posthogHost: upstream.url });

    const response = await fetch(`${proxy}/array/phc_test/config`);
    const reader = response.body?.getReader();
    const decoder = new TextDecoder();
    let text = "";
    for (let read = await reader?.read(); read && !read.done; read = await reader?.read()) {
      text += decoder.decode(read.value, { stream: true });
      if (text === "first-") clientGotFirstChunk();
    }

    expect(text).toBe("first-second");
  });

  it("answers 502 when PostHog cannot be reached", async () => {
    const proxy = await startProxy({ posthogHost: "http://127.0.0.1:1" });
    const response = await fetch(`${proxy}/e/`, { method: "POST", body: "{}" });
    expect(response.status).toBe(502);
  });
});

describe("deriveAssetsHost", () => {
  it("maps PostHog Cloud ingestion hosts to their assets hosts and leaves other hosts alone", () => {
    expect(deriveAssetsHost("https://eu.i.posthog.com")).toBe("https://eu-assets.i.posthog.com");
    expect(deriveAssetsHost("https://us.i.posthog.com")).toBe("https://us-assets.i.posthog.com");
    expect(deriveAssetsHost("http://127.0.0.1:4318")).toBe("http://127.0.0.1:4318");
  });
});

/** A bare upstream for behaviours the stand-in does not model (headers it would never send, slow bodies). */
async function startRawUpstream(
  handler: (req: IncomingMessage, res: import("node:http").ServerResponse) => void,
): Promise<{ url: string; paths: string[] }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? "");
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => closeServer(server));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths };
}

/** POSTs `path` below the proxy exactly as given (fetch would normalise `..` away) and returns the status. */
function postRawPath(proxyUrl: string, path: string): Promise<number | undefined> {
  const { hostname, port, pathname } = new URL(proxyUrl);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path: `${pathname}${path}`, method: "POST" }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("error", reject);
    req.end("{}");
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref()),
  ]);
}
