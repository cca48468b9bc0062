/**
 * The two doors into a machine, against a hostile machine: a loopback server that answers like a daemon
 * on port 3000 but also serves HTML, plants cookies for the parent domain, asks for a site-wide service
 * worker and sends CORS headers. Requests are made at the socket level with the `Host` header a browser
 * would send, since Node's resolver does not map `*.localhost` to loopback.
 */
import { createServer, type IncomingHttpHeaders, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import type { HealthResponse } from "@os2/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";

import { previewTicket } from "../db/schema/preview.ts";
import { createUnconfiguredDaytonaProvider } from "../providers/daytona/index.ts";
import type { DaemonEndpoint, ListedMachine, MachineProvider } from "../providers/types.ts";
import { applySetCookies, createTestOs2, DASHBOARD_ORIGIN, type TestOs2 } from "../testing/harness.ts";
import { setUpProject, waitForObservedState } from "../testing/machine-fixtures.ts";

type Seen = { path: string; headers: IncomingHttpHeaders };
type Answer = { status: number; headers: IncomingHttpHeaders; body: string };

function rawRequest(
  base: string,
  host: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  const url = new URL(base);
  return new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path, method: init.method ?? "GET", headers: { host, ...init.headers } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}

describe("machine previews and the dashboard door, against a hostile machine", () => {
  const seen: Seen[] = [];
  let machineServer: Server;
  let machineUrl: string;
  let closedPort: number;
  let t: TestOs2;
  let base: string;
  let fx: Awaited<ReturnType<typeof setUpProject>>;
  let machineId: string;
  let proxyBase: string;

  beforeAll(async () => {
    machineServer = createServer((req, res) => {
      const path = req.url ?? "/";
      seen.push({ path, headers: req.headers });
      if (path === "/api/health") {
        const health: HealthResponse = {
          status: "ok",
          version: "hostile",
          startedAt: new Date().toISOString(),
          uptimeSeconds: 1,
          services: [],
        };
        return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(health));
      }
      const hostile = {
        "set-cookie": ["planted=1; Domain=localhost; Path=/", "os2_preview=forged; Path=/"],
        "service-worker-allowed": "/",
        "access-control-allow-origin": "*",
        location: "http://evil.example/",
      };
      if (path.endsWith("/page")) {
        return res
          .writeHead(200, { ...hostile, "content-type": "text/html" })
          .end("<script>fetch('/api/trpc/user.me')</script>");
      }
      if (path.endsWith("/json")) {
        return res.writeHead(200, { ...hostile, "content-type": "application/json" }).end(JSON.stringify({ ok: true }));
      }
      if (path.endsWith("/stream")) {
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        const timer = setInterval(() => res.write(`${JSON.stringify({ type: "stdout", data: "tick" })}\n`), 100);
        res.on("close", () => clearInterval(timer));
        return;
      }
      if (path.endsWith("/echo")) {
        let body = "";
        req.on("data", (chunk: Buffer) => (body += chunk.toString()));
        req.on("end", () =>
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ method: req.method, body })),
        );
        return;
      }
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not_found" }));
    });
    const wss = new WebSocketServer({ server: machineServer });
    wss.on("connection", (socket) => socket.on("message", (data) => socket.send(`echo:${String(data)}`)));
    await new Promise<void>((resolve) => machineServer.listen(0, "127.0.0.1", resolve));
    machineUrl = `http://127.0.0.1:${(machineServer.address() as AddressInfo).port}`;
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const held: ListedMachine[] = [];
    const hostileMachine: MachineProvider = {
      type: "local-docker",
      availability: async () => ({ available: true }),
      create: async (input) => {
        held.push({ externalId: "hostile", labels: input.labels, state: "running" });
        return { externalId: "hostile", metadata: {} };
      },
      start: async () => {},
      stop: async () => {},
      archive: async () => {},
      delete: async () => {},
      inspect: async () => ({ state: "running", metadata: {} }),
      list: async () => held,
      daemonEndpoint: async (_id, port): Promise<DaemonEndpoint> => {
        if (port === 3000)
          return { url: machineUrl, headers: {}, credentialHeader: "authorization", forwardsHost: true };
        if (port === 9) return { url: `http://127.0.0.1:${closedPort}`, headers: {} };
        return { url: `${machineUrl}/port-${port}`, headers: {}, forwardsHost: true };
      },
    };
    t = await createTestOs2({
      providers: { "local-docker": hostileMachine, daytona: createUnconfiguredDaytonaProvider() },
    });
    fx = await setUpProject(t);
    base = await t.listen();
    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "hostile", type: "local-docker" });
    machineId = created.id;
    await waitForObservedState(() => fx.api.machine.byId.query({ ...fx.scope, machineId }), "running");
    proxyBase = `/org/${fx.org.slug}/proj/${fx.project.slug}/${machineId}/proxy`;
  });
  afterAll(async () => {
    await t?.close();
    machineServer?.close();
  });

  const previewHost = (port: number) => new URL(t.os2.previewOrigin.urlFor(machineId, port)).host;
  const dashboardHost = "localhost:3001";
  const lastSeen = (suffix: string) => [...seen].reverse().find((entry) => entry.path.endsWith(suffix));

  /** Walks the browser's way in: preview → dashboard (ticket) → preview (cookie). Returns the preview cookie. */
  async function previewCookieFor(port: number): Promise<string> {
    const first = await rawRequest(base, previewHost(port), "/page", { headers: { accept: "text/html" } });
    expect(first.status).toBe(302);
    const toDashboard = new URL(String(first.headers.location));
    expect(toDashboard.host).toBe(dashboardHost);
    const second = await rawRequest(base, dashboardHost, `${toDashboard.pathname}${toDashboard.search}`, {
      headers: { cookie: fx.cookie },
    });
    expect(second.status).toBe(302);
    const toPreview = new URL(String(second.headers.location));
    expect(toPreview.host).toBe(previewHost(port));
    const third = await rawRequest(base, previewHost(port), `${toPreview.pathname}${toPreview.search}`);
    expect(third.status).toBe(302);
    expect(third.headers.location).toBe("/page");
    const setCookie = third.headers["set-cookie"]?.[0] ?? "";
    expect(setCookie).toMatch(/^os2_preview=[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
    expect(setCookie).not.toMatch(/domain/i);
    return setCookie.split(";")[0] ?? "";
  }

  it("refuses a machine's HTML on the dashboard origin, with 502 and the sandbox policy", async () => {
    const answer = await rawRequest(base, dashboardHost, `${proxyBase}/3000/page`, { headers: { cookie: fx.cookie } });
    expect(answer.status).toBe(502);
    expect(answer.headers["content-type"]).toMatch(/^application\/json/);
    expect(answer.body).toMatch(/text\/html/);
    expect(answer.body).not.toMatch(/<script>/);
    expect(answer.headers["content-security-policy"]).toBe("sandbox; default-src 'none'");
    expect(answer.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("passes the daemon's JSON to the dashboard without its cookies, service worker scope, redirects or CORS", async () => {
    const answer = await rawRequest(base, dashboardHost, `${proxyBase}/3000/json`, { headers: { cookie: fx.cookie } });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ ok: true });
    for (const header of ["set-cookie", "service-worker-allowed", "access-control-allow-origin", "location"]) {
      expect(answer.headers[header], header).toBeUndefined();
    }
    expect(answer.headers["content-security-policy"]).toBe("sandbox; default-src 'none'");
    expect(answer.headers["x-content-type-options"]).toBe("nosniff");
    // The machine saw the daemon credential, never the member's cookie.
    const request = lastSeen("/json");
    expect(request?.headers.cookie).toBeUndefined();
    expect(request?.headers.authorization).toMatch(/^Bearer \S+$/);
  });

  it("sends other ports of the dashboard route to their preview URL instead", async () => {
    const answer = await rawRequest(base, dashboardHost, `${proxyBase}/5173/`, { headers: { cookie: fx.cookie } });
    expect(answer.status).toBe(404);
    expect(answer.body).toContain(t.os2.previewOrigin.urlFor(machineId, 5173));
  });

  it("lets a member's browser into a preview with a single-use ticket, and no dashboard cookie reaches the machine", async () => {
    const cookie = await previewCookieFor(5173);
    const page = await rawRequest(base, previewHost(5173), "/page", { headers: { cookie: `${cookie}; app=1` } });
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html");
    // The machine's own cookies stay on its own host, and it cannot replace os2's preview cookie.
    expect(page.headers["set-cookie"]).toEqual(["planted=1; Path=/"]);
    const request = lastSeen("/port-5173/page");
    expect(request?.headers.host).toBe(previewHost(5173));
    expect(request?.headers.cookie).toBe("app=1");
    expect(request?.headers.authorization).toBeUndefined();

    // A ticket works once, and only for the port it was made for.
    const toDashboard = new URL(
      String((await rawRequest(base, previewHost(5173), "/", { headers: { accept: "text/html" } })).headers.location),
    );
    const ticketUrl = new URL(
      String(
        (
          await rawRequest(base, dashboardHost, `${toDashboard.pathname}${toDashboard.search}`, {
            headers: { cookie: fx.cookie },
          })
        ).headers.location,
      ),
    );
    const path = `${ticketUrl.pathname}${ticketUrl.search}`;
    expect((await rawRequest(base, previewHost(8080), path)).status).toBe(403);
    expect((await rawRequest(base, previewHost(5173), path)).status).toBe(403);
  });

  it("refuses an expired ticket", async () => {
    const toDashboard = new URL(
      String((await rawRequest(base, previewHost(5173), "/", { headers: { accept: "text/html" } })).headers.location),
    );
    const ticketUrl = new URL(
      String(
        (
          await rawRequest(base, dashboardHost, `${toDashboard.pathname}${toDashboard.search}`, {
            headers: { cookie: fx.cookie },
          })
        ).headers.location,
      ),
    );
    await t.os2.database.db.update(previewTicket).set({ expiresAt: new Date(Date.now() - 1_000) });
    expect((await rawRequest(base, previewHost(5173), `${ticketUrl.pathname}${ticketUrl.search}`)).status).toBe(403);
  });

  it("admits API clients with their project's access token, which the machine never sees", async () => {
    const own = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "preview-own" });
    const outsider = await setUpProject(t, "preview-outsider+test@example.com");
    const foreign = await outsider.api.accessToken.create.mutate({ ...outsider.scope, name: "preview-foreign" });
    const get = (authorization?: string) =>
      rawRequest(base, previewHost(8080), "/json", { headers: authorization ? { authorization } : {} });
    expect((await get()).status).toBe(401);
    expect((await get(`Bearer ${foreign.token}`)).status).toBe(404);
    const answer = await get(`Bearer ${own.token}`);
    expect(answer.status).toBe(200);
    expect(lastSeen("/port-8080/json")?.headers.authorization).toBeUndefined();
    // The app's own Authorization (Basic auth, say) passes for a browser with a preview cookie.
    const cookie = await previewCookieFor(8080);
    await rawRequest(base, previewHost(8080), "/json", { headers: { cookie, authorization: "Basic YTpi" } });
    expect(lastSeen("/port-8080/json")?.headers.authorization).toBe("Basic YTpi");
  });

  it("replaces client-sent forwarding headers with its own", async () => {
    const own = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "forwarding" });
    await rawRequest(base, previewHost(8080), "/json", {
      headers: {
        authorization: `Bearer ${own.token}`,
        "x-forwarded-for": "6.6.6.6",
        "x-forwarded-host": "evil.example",
        forwarded: "for=6.6.6.6",
      },
    });
    const request = lastSeen("/port-8080/json");
    expect(request?.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(request?.headers["x-forwarded-host"]).toBe(previewHost(8080));
    expect(request?.headers.forwarded).toBeUndefined();
  });

  it("answers 502 naming the port when nothing listens there", async () => {
    const own = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "closed-port" });
    const answer = await rawRequest(base, previewHost(9), "/", { headers: { authorization: `Bearer ${own.token}` } });
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.body).message).toMatch(/port 9\b/);
  });

  it("refuses cookie-carrying state changes and upgrades from other origins on both doors", async () => {
    const previewOfPort = t.os2.previewOrigin.urlFor(machineId, 5173);
    const otherMachine = t.os2.previewOrigin.urlFor("mach_01jxk3y3q8f7v2c9m4n5p6r7s8", 5173);
    // The dashboard: a preview page cannot make the member's browser mutate anything.
    const mutation = await rawRequest(base, dashboardHost, "/api/trpc/organization.create", {
      method: "POST",
      headers: { cookie: fx.cookie, origin: previewOfPort, "content-type": "application/json" },
      body: JSON.stringify({ json: { name: "planted" } }),
    });
    expect(mutation.status).toBe(403);
    const exec = await rawRequest(base, dashboardHost, `${proxyBase}/3000/echo`, {
      method: "POST",
      headers: { cookie: fx.cookie, origin: previewOfPort },
      body: "{}",
    });
    expect(exec.status).toBe(403);
    // No CORS answer for preview origins.
    const preflight = await rawRequest(base, dashboardHost, "/api/trpc/organization.create", {
      method: "OPTIONS",
      headers: { origin: previewOfPort, "access-control-request-method": "POST" },
    });
    expect(preflight.headers["access-control-allow-origin"]).toBeUndefined();
    expect(preflight.headers["access-control-allow-credentials"]).toBeUndefined();

    // A preview: another machine's page cannot use this machine's preview cookie; this machine's own can.
    const cookie = await previewCookieFor(8080);
    const post = (origin: string) =>
      rawRequest(base, previewHost(8080), "/echo", { method: "POST", headers: { cookie, origin }, body: "hello" });
    expect((await post(otherMachine)).status).toBe(403);
    expect((await post(DASHBOARD_ORIGIN)).status).toBe(403);
    const own = await post(previewOfPort);
    expect(own.status).toBe(200);
    expect(JSON.parse(own.body)).toEqual({ method: "POST", body: "hello" });

    // The daemon's port runs commands: only its own origin may use its cookie, not another port's app.
    const daemonCookie = await previewCookieFor(3000);
    const toDaemon = (origin: string) =>
      rawRequest(base, previewHost(3000), "/echo", {
        method: "POST",
        headers: { cookie: daemonCookie, origin },
        body: "{}",
      });
    expect((await toDaemon(t.os2.previewOrigin.urlFor(machineId, 8080))).status).toBe(403);
    expect((await toDaemon(t.os2.previewOrigin.urlFor(machineId, 3000))).status).toBe(200);
  });

  it("relays preview WebSockets and closes them within 5 s of the token being revoked", async () => {
    const token = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "socket" });
    const socket = new WebSocket(`${base.replace(/^http/, "ws")}/ws`, {
      headers: { host: previewHost(8080), authorization: `Bearer ${token.token}` },
    });
    const messages: string[] = [];
    socket.on("message", (data) => messages.push(String(data)));
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    socket.send("hi");
    await expect.poll(() => messages).toEqual(["echo:hi"]);
    const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now())));
    const revokedAt = Date.now();
    await fx.api.accessToken.revoke.mutate({ ...fx.scope, id: token.id });
    expect((await closed) - revokedAt).toBeLessThan(5_000);
  });

  it("ends a member's open preview socket and exec stream within 5 s of their removal", async () => {
    const member = await t.signIn("preview-member+test@example.com");
    await fx.api.organization.addMember.mutate({
      organizationSlug: fx.org.slug,
      email: "preview-member+test@example.com",
    });
    const memberApi = t.client({ cookie: member });
    const me = await memberApi.user.me.query();
    // The member's preview cookie (the same walk as previewCookieFor, with the member's session).
    const first = await rawRequest(base, previewHost(8080), "/", { headers: { accept: "text/html" } });
    const toDashboard = new URL(String(first.headers.location));
    const ticketUrl = new URL(
      String(
        (
          await rawRequest(base, dashboardHost, `${toDashboard.pathname}${toDashboard.search}`, {
            headers: { cookie: member },
          })
        ).headers.location,
      ),
    );
    const redeemed = await rawRequest(base, previewHost(8080), `${ticketUrl.pathname}${ticketUrl.search}`);
    const previewCookie = applySetCookies(
      "",
      new Response(null, { headers: { "set-cookie": String(redeemed.headers["set-cookie"]?.[0]) } }),
    );

    const socket = new WebSocket(`${base.replace(/^http/, "ws")}/ws`, {
      headers: { host: previewHost(8080), cookie: previewCookie, origin: t.os2.previewOrigin.urlFor(machineId, 8080) },
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    const socketClosed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now())));

    const url = new URL(base);
    const streamEnded = new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: `${proxyBase}/3000/stream`,
          headers: { host: dashboardHost, cookie: member },
        },
        (res) => {
          expect(res.statusCode).toBe(200);
          res.on("data", () => undefined);
          res.on("close", () => resolve(Date.now()));
          res.on("error", () => resolve(Date.now()));
        },
      );
      req.on("error", reject);
      req.end();
    });
    await new Promise((resolve) => setTimeout(resolve, 300));

    const removedAt = Date.now();
    await fx.api.organization.removeMember.mutate({ organizationSlug: fx.org.slug, userId: me?.id ?? "" });
    expect((await socketClosed) - removedAt).toBeLessThan(5_000);
    expect((await streamEnded) - removedAt).toBeLessThan(5_000);
  });

  it("a member removed here is refused by the dashboard door at their very next request, though it had just let them in", async () => {
    const email = "door-member+test@example.com";
    const member = await t.signIn(email);
    await fx.api.organization.addMember.mutate({ organizationSlug: fx.org.slug, email });
    const me = await t.client({ cookie: member }).user.me.query();
    const json = () => rawRequest(base, dashboardHost, `${proxyBase}/3000/json`, { headers: { cookie: member } });
    // Twice: the second answer comes from the door's own cache of decisions.
    expect((await json()).status).toBe(200);
    expect((await json()).status).toBe(200);
    await fx.api.organization.removeMember.mutate({ organizationSlug: fx.org.slug, userId: me?.id ?? "" });
    expect((await json()).status).not.toBe(200);
  });

  it("closes a preview WebSocket within 5 s of the machine being deleted", async () => {
    const token = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "deleted-machine" });
    const socket = new WebSocket(`${base.replace(/^http/, "ws")}/ws`, {
      headers: { host: previewHost(8080), authorization: `Bearer ${token.token}` },
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now())));
    const deletedAt = Date.now();
    await fx.api.machine.delete.mutate({ ...fx.scope, machineId });
    expect((await closed) - deletedAt).toBeLessThan(5_000);
  });
});
