import { Agent, createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { errorResponseSchema, forwardPath, MACHINE_TOKEN_HEADER } from "@os2/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";

import { createTestDaemon, TEST_TOKEN, type TestDaemon } from "../test-support";

type Reply = { status: number; headers: IncomingMessage["headers"]; rawHeaders: string[]; body: string };

/** What the app saw of the last request. */
type Seen = { method: string; url: string; headers: IncomingMessage["headers"]; body: string };

const clientAgent = new Agent({ keepAlive: true });

/** A request to the daemon with Node's client (fetch may not set Host), the credential in its header. */
function send(
  port: number,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; token?: boolean } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token !== false) headers[MACHINE_TOKEN_HEADER] = TEST_TOKEN;
    const req = request({ host: "127.0.0.1", port, path, method: init.method ?? "GET", headers, agent: clientAgent });
    req.on("error", reject);
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("error", reject);
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body }),
      );
    });
    req.end(init.body);
  });
}

async function listen(server: Server, host = "127.0.0.1"): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on: one the kernel just handed out and took back. */
async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Promise.withResolvers, which Node 20 does not have. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const errorOf = (reply: Reply) => errorResponseSchema.parse(JSON.parse(reply.body));

describe("/api/forward/:port", () => {
  let daemon: TestDaemon;
  let daemonPort: number;
  let app: Server;
  let appPort: number;
  let seen: Seen | undefined;
  let appConnections = 0;
  let appRequests = 0;
  let appUpgrades = 0;
  const wss = new WebSocketServer({ noServer: true });
  let upgradeSeen: IncomingMessage | undefined;
  let appSawClose = deferred<boolean>();
  let appSocketClosed = deferred<void>();

  beforeAll(async () => {
    daemon = await createTestDaemon();
    daemonPort = (await daemon.listen()).port;
    app = createServer((req, res) => {
      appRequests++;
      const url = req.url ?? "";
      if (url.startsWith("/echo-stream")) {
        // Echoes every chunk as it arrives: a forward that buffered either way would never answer.
        res.writeHead(200, { "content-type": "application/octet-stream" });
        req.on("data", (chunk: Buffer) => res.write(chunk));
        req.on("end", () => res.end());
        return;
      }
      if (url.startsWith("/hang")) {
        // Sends a first chunk, then holds the response open until the client goes away.
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("first chunk");
        res.on("close", () => appSawClose.resolve(!res.writableFinished));
        return;
      }
      if (url.startsWith("/die-mid-body")) {
        res.writeHead(200, { "content-length": "1000" });
        res.write("only part of it");
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => (body += chunk));
      req.on("end", () => {
        seen = { method: req.method ?? "", url, headers: req.headers, body };
        res.writeHead(203, "Made Up", [
          "Content-Type",
          "text/plain; charset=utf-8",
          "X-App",
          "yes",
          "Set-Cookie",
          "a=1; Path=/",
          "Set-Cookie",
          "b=2; Path=/",
        ]);
        res.end(`you sent ${req.method} ${url}`);
      });
    });
    app.on("connection", () => appConnections++);
    app.on("upgrade", (req, socket, head) => {
      appUpgrades++;
      upgradeSeen = req;
      socket.on("close", () => appSocketClosed.resolve());
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on("message", (data, isBinary) => {
          if (data.toString() === "hang up") ws.terminate();
          else ws.send(data, { binary: isBinary });
        });
      });
    });
    appPort = await listen(app);
  });

  afterAll(async () => {
    clientAgent.destroy();
    app.closeAllConnections();
    await new Promise((resolve) => app.close(resolve));
    await daemon.cleanup();
  });

  it("forwards a GET's path and query to 127.0.0.1:<port> and the app's status, headers and body back", async () => {
    const reply = await send(daemonPort, forwardPath(appPort, "/src/main.ts?x=1&y=%20two"));
    expect(seen).toMatchObject({ method: "GET", url: "/src/main.ts?x=1&y=%20two" });
    expect(reply.status).toBe(203);
    expect(reply.body).toBe("you sent GET /src/main.ts?x=1&y=%20two");
    expect(reply.headers["x-app"]).toBe("yes");
    expect(reply.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(reply.headers["set-cookie"]).toEqual(["a=1; Path=/", "b=2; Path=/"]);
  });

  it("maps /api/forward/<port> and /api/forward/<port>?q to the app's root", async () => {
    await send(daemonPort, `/api/forward/${appPort}`);
    expect(seen?.url).toBe("/");
    await send(daemonPort, `/api/forward/${appPort}?q=1`);
    expect(seen?.url).toBe("/?q=1");
  });

  it("passes the Host header the daemon received on unchanged (dev servers check it)", async () => {
    await send(daemonPort, forwardPath(appPort, "/"), { headers: { host: "5173--mach_x.preview.example:8443" } });
    expect(seen?.headers.host).toBe("5173--mach_x.preview.example:8443");
  });

  it("passes the client's Authorization and other cookies to the app, never X-Os2-Machine-Token or the token cookie", async () => {
    await send(daemonPort, forwardPath(appPort, "/private"), {
      headers: {
        authorization: "Bearer the-apps-own-token",
        cookie: `theme=dark; os2_machine_token=${TEST_TOKEN}; sid=7`,
      },
    });
    expect(seen?.headers.authorization).toBe("Bearer the-apps-own-token");
    expect(seen?.headers.cookie).toBe("theme=dark; sid=7");
    expect(seen?.headers[MACHINE_TOKEN_HEADER]).toBeUndefined();
    expect(JSON.stringify(seen?.headers)).not.toContain(TEST_TOKEN);
  });

  it("accepts the os2_machine_token cookie as the credential and removes the Cookie header when nothing else is in it", async () => {
    const reply = await send(daemonPort, forwardPath(appPort, "/c"), {
      token: false,
      headers: { cookie: `os2_machine_token=${TEST_TOKEN}` },
    });
    expect(reply.status).toBe(203);
    expect(seen?.headers.cookie).toBeUndefined();
  });

  it("does not forward hop-by-hop headers either way", async () => {
    const reply = await send(daemonPort, forwardPath(appPort, "/hop"), {
      headers: { connection: "keep-alive, x-hop", "x-hop": "1", "proxy-authorization": "Basic x", te: "trailers" },
    });
    expect(reply.status).toBe(203);
    expect(seen?.headers["x-hop"]).toBeUndefined();
    expect(seen?.headers["proxy-authorization"]).toBeUndefined();
    expect(seen?.headers.te).toBeUndefined();
  });

  it("forwards a POST body with its method and content type", async () => {
    const reply = await send(daemonPort, forwardPath(appPort, "/submit"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ hello: "app" }),
    });
    expect(reply.status).toBe(203);
    expect(seen).toMatchObject({ method: "POST", url: "/submit", body: '{"hello":"app"}' });
    expect(seen?.headers["content-type"]).toBe("application/json");
  });

  it("streams a chunked request body to the app and its answer back chunk by chunk (nothing is buffered whole)", async () => {
    const chunks = ["first;", "second;", "third;"];
    const echoed = await new Promise<string>((resolve, reject) => {
      const req = request({
        host: "127.0.0.1",
        port: daemonPort,
        method: "PUT",
        path: forwardPath(appPort, "/echo-stream"),
        headers: { [MACHINE_TOKEN_HEADER]: TEST_TOKEN, "transfer-encoding": "chunked" },
      });
      let got = "";
      let sent = 1;
      req.on("error", reject);
      req.on("response", (res) => {
        res.setEncoding("utf8");
        // The next chunk goes out only after the previous one came back through the daemon.
        res.on("data", (data: string) => {
          got += data;
          if (got.split(";").length - 1 < sent) return;
          const next = chunks[sent++];
          if (next) req.write(next);
          else req.end();
        });
        res.on("end", () => resolve(got));
      });
      req.flushHeaders();
      req.write(chunks[0]);
    });
    expect(echoed).toBe(chunks.join(""));
  });

  it("reuses keep-alive connections to the app instead of connecting per request", async () => {
    const before = appConnections;
    for (let i = 0; i < 20; i++) expect((await send(daemonPort, forwardPath(appPort, `/k${i}`))).status).toBe(203);
    expect(appConnections - before).toBeLessThanOrEqual(1);
  });

  it("answers 401 without the credential or with a wrong one, before anything reaches the app", async () => {
    const before = appRequests;
    const missing = await send(daemonPort, forwardPath(appPort, "/"), { token: false });
    expect(missing.status).toBe(401);
    expect(errorOf(missing)).toMatchObject({
      error: "unauthorized",
      message: expect.stringMatching(/X-Os2-Machine-Token/),
    });
    const wrong = await send(daemonPort, forwardPath(appPort, "/"), {
      token: false,
      headers: { [MACHINE_TOKEN_HEADER]: "nope" },
    });
    expect(wrong.status).toBe(401);
    expect(errorOf(wrong).message).toBe("wrong MACHINE_AUTH_TOKEN");
    expect(appRequests).toBe(before);
  });

  it("does not take Authorization: Bearer <token> or ?token= as the credential: on the forward they belong to the app", async () => {
    const bearer = await send(daemonPort, forwardPath(appPort, "/"), {
      token: false,
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    expect(bearer.status).toBe(401);
    const query = await send(daemonPort, forwardPath(appPort, `/?token=${TEST_TOKEN}`), { token: false });
    expect(query.status).toBe(401);
  });

  it("answers 502 bad_gateway naming the port when nothing listens on it", async () => {
    const port = await freePort();
    const reply = await send(daemonPort, forwardPath(port, "/"));
    expect(reply.status).toBe(502);
    expect(errorOf(reply)).toMatchObject({
      error: "bad_gateway",
      message: expect.stringContaining(`Nothing is listening on port ${port} inside the machine (127.0.0.1:${port}`),
    });
  });

  it("answers 400 naming the field port for a port that is not an integer from 1 to 65535", async () => {
    for (const path of [
      "/api/forward/0/",
      "/api/forward/65536/",
      "/api/forward/abc/",
      "/api/forward/80.5/",
      "/api/forward",
      "/api/forward/",
    ]) {
      const reply = await send(daemonPort, path);
      expect(reply.status, path).toBe(400);
      expect(errorOf(reply), path).toMatchObject({
        error: "bad_request",
        field: "port",
        message: expect.stringMatching(/^port: /),
      });
    }
  });

  it("reaches an app that listens on ::1 only (as Vite on localhost often does)", async () => {
    const v6 = createServer((_req, res) => res.end("from ::1"));
    const port = await listen(v6, "::1");
    try {
      const reply = await send(daemonPort, forwardPath(port, "/"));
      expect(reply).toMatchObject({ status: 200, body: "from ::1" });
    } finally {
      v6.closeAllConnections();
      await new Promise((resolve) => v6.close(resolve));
    }
  });

  it("closes the app's side when the client goes away in the middle of a response", async () => {
    appSawClose = deferred<boolean>();
    await new Promise<void>((resolve, reject) => {
      const req = request({
        host: "127.0.0.1",
        port: daemonPort,
        path: forwardPath(appPort, "/hang"),
        headers: { [MACHINE_TOKEN_HEADER]: TEST_TOKEN },
      });
      req.on("error", () => undefined);
      req.on("response", (res) => {
        res.once("data", () => {
          req.destroy(); // the browser tab closed
          resolve();
        });
      });
      req.on("error", reject);
      req.end();
    });
    expect(await appSawClose.promise).toBe(true); // closed before the app finished its answer
  });

  it("breaks the client's response when the app dies mid-body, and keeps serving", async () => {
    await expect(send(daemonPort, forwardPath(appPort, "/die-mid-body"))).rejects.toThrow(
      /aborted|socket hang up|ECONNRESET/,
    );
    expect((await send(daemonPort, forwardPath(appPort, "/after"))).status).toBe(203);
  });

  const openForwardedSocket = (
    path: string,
    headers: Record<string, string> = { [MACHINE_TOKEN_HEADER]: TEST_TOKEN },
  ) => new WebSocket(`ws://127.0.0.1:${daemonPort}${forwardPath(appPort, path)}`, { headers });

  it("splices a WebSocket upgrade to the app: text and binary frames both ways, path and query without the prefix", async () => {
    const ws = openForwardedSocket("/hmr?token=apps-own", {
      [MACHINE_TOKEN_HEADER]: TEST_TOKEN,
      authorization: "Bearer app",
    });
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    expect(upgradeSeen?.url).toBe("/hmr?token=apps-own");
    expect(upgradeSeen?.headers.authorization).toBe("Bearer app");
    expect(upgradeSeen?.headers[MACHINE_TOKEN_HEADER]).toBeUndefined();
    const next = () =>
      new Promise<{ data: Buffer; isBinary: boolean }>((resolve) =>
        ws.once("message", (data: Buffer, isBinary) => resolve({ data, isBinary })),
      );
    let reply = next();
    ws.send("hello through the daemon");
    expect(await reply).toMatchObject({ isBinary: false });
    expect((await reply).data.toString()).toBe("hello through the daemon");
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    reply = next();
    ws.send(bytes);
    expect(await reply).toMatchObject({ isBinary: true });
    expect(Buffer.compare((await reply).data, bytes)).toBe(0);
    ws.close();
  });

  it("ends the app's socket when the client resets a spliced WebSocket, and the client's when the app drops it", async () => {
    appSocketClosed = deferred<void>();
    const first = openForwardedSocket("/reset");
    await new Promise((resolve) => first.once("open", resolve));
    first.terminate(); // destroys the TCP connection without a close handshake
    await appSocketClosed.promise;

    const second = openForwardedSocket("/dropped");
    await new Promise((resolve) => second.once("open", resolve));
    const closed = new Promise<number>((resolve) => second.once("close", (code) => resolve(code)));
    second.send("hang up");
    expect(await closed).toBe(1006); // abnormal closure: the app went away without a close frame
  });

  it("answers a forwarded upgrade with a plain 401 without the credential and 502 when nothing listens", async () => {
    const statusOf = (ws: WebSocket) =>
      new Promise<number>((resolve) => ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)));
    const before = appUpgrades;
    expect(await statusOf(openForwardedSocket("/hmr", {}))).toBe(401);
    expect(await statusOf(openForwardedSocket("/hmr", { [MACHINE_TOKEN_HEADER]: "wrong" }))).toBe(401);
    expect(appUpgrades).toBe(before);
    const port = await freePort();
    const nobody = new WebSocket(`ws://127.0.0.1:${daemonPort}${forwardPath(port, "/")}`, {
      headers: { [MACHINE_TOKEN_HEADER]: TEST_TOKEN },
    });
    expect(await statusOf(nobody)).toBe(502);
  });

  it("keeps the daemon's own /api/pty/ws WebSocket working beside the forward", async () => {
    const ws = new WebSocket(
      `ws://127.0.0.1:${daemonPort}/api/pty/ws?tmuxSession=fwd&${new URLSearchParams({ token: TEST_TOKEN })}`,
    );
    const firstFrame = new Promise<Buffer>((resolve, reject) => {
      ws.once("message", (data: Buffer) => resolve(data));
      ws.once("error", reject);
    });
    expect((await firstFrame).length).toBeGreaterThan(0);
    ws.close();
  });
});
