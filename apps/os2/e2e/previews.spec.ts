/**
 * Machine previews in Debian's Chromium against real local-docker machines (image `iterate-sandbox:local`).
 *
 * 1. A hostile machine: the daemon is stopped (`s6-svc -d`) and a small Node server takes port 3000. It
 *    serves an HTML page whose script tries to read the dashboard's API with the member's cookies, to mint
 *    an access token with them, and to register a service worker for the dashboard's origin, and it logs
 *    every request's headers to a file. The member opens the page at the machine's preview URL (the
 *    ticket → cookie redirects run in the real browser); every attempt must fail, the server must never see
 *    the dashboard's or the preview's cookie, and the dashboard's own route to the machine must refuse the
 *    page (502 JSON under `Content-Security-Policy: sandbox`) so its script never runs on the dashboard.
 *    It runs in two deployments:
 *    - the default, `localhost` + `*.localhost`: Chromium counts each preview host as a site of its own, so
 *      SameSite=Lax already keeps the session cookie off the page's requests to the dashboard;
 *    - `app.os2.example.com` + `*.os2.example.com` (a second os2, same-site-server.ts): the cookie does go
 *      along, and the dashboard's Origin guard is what answers the token mint with 403.
 *    What the network stack sent and got back (cookies, statuses CORS hides from the page) is read over
 *    the DevTools protocol.
 * 2. A Vite dev server installed from the npm registry inside a machine, opened at the preview URL of port
 *    5173: editing its CSS inside the machine recolours the page without a reload, which needs Vite's HMR
 *    WebSocket to pass through the preview door and the daemon's forward. Writes
 *    docs/screenshots/preview-dev-server.png.
 *
 * Each test owns its machine and deletes it in `finally` (Docker is checked for leftovers).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { chromium, expect, type Page, type Request, test, type WebSocket } from "@playwright/test";

import { CHROMIUM_PATH } from "./chromium.ts";
import { E2E_API_URL, E2E_BASE_URL } from "./e2e-server.ts";
import {
  createProject,
  DashboardApi,
  execDetached,
  execIn,
  execOk,
  ownedMachine,
  signIn,
  writeFileIn,
} from "./machine-fixture.ts";
import { SAME_SITE, startSameSiteServer } from "./same-site-server.ts";

const SCREENSHOT_DIR = fileURLToPath(new URL("../../../docs/screenshots/", import.meta.url));
const DAEMON_SERVICE = "/opt/os2/services/iterate-server";
const PREVIEW_COOKIE = "os2_preview";
const VITE_SPEC = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    devDependencies: Record<string, string>;
  }
).devDependencies.vite;

type PreviewInfo = { previewUrl: string; directUrl: string | null };
type ListedPort = { port: number; process: string | null; previewUrl: string };
type Attempt = { ok: true; value: unknown } | { ok: false; error: string };
type Recorded = { method: string; url: string; headers: Record<string, string | undefined> };

/** The chain of URLs a navigation went through, first to last. */
function redirectChain(last: Request): string[] {
  const chain: string[] = [];
  for (let request: Request | null = last; request; request = request.redirectedFrom()) chain.unshift(request.url());
  return chain;
}

type DashboardCall = {
  url: string;
  method: string;
  origin: string | undefined;
  /** Names of the cookies Chromium attached to the request. */
  sentCookies: string[];
  status: number | undefined;
  responseHeaders: Record<string, string>;
};

/**
 * Watches, through the DevTools protocol, what Chromium's network stack sends to the dashboard's API and
 * what comes back, including what CORS then hides from the page: the real status and headers of a
 * cross-origin response, and the cookies that went with the request.
 */
async function watchDashboardApi(page: Page, dashboardOrigin: string) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const calls = new Map<string, { url: string; method: string }>();
  const sent = new Map<string, Record<string, string>>();
  const received = new Map<string, { status: number; headers: Record<string, string> }>();
  const ended = new Set<string>();
  const header = (headers: Record<string, string> | undefined, name: string) =>
    Object.entries(headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1];
  cdp.on("Network.requestWillBeSent", (event) => {
    if (!event.request.url.startsWith(`${dashboardOrigin}/api/`)) return;
    calls.set(event.requestId, {
      url: event.request.url,
      method: event.request.method,
    });
  });
  cdp.on("Network.requestWillBeSentExtraInfo", (event) => sent.set(event.requestId, event.headers));
  cdp.on("Network.responseReceivedExtraInfo", (event) =>
    received.set(event.requestId, { status: event.statusCode, headers: event.headers }),
  );
  cdp.on("Network.loadingFinished", (event) => ended.add(event.requestId));
  cdp.on("Network.loadingFailed", (event) => ended.add(event.requestId));

  return {
    /** The one call to a path, once it has ended. */
    async settled(path: string): Promise<DashboardCall> {
      const matching = () => [...calls.entries()].filter(([, call]) => new URL(call.url).pathname === path);
      await expect.poll(() => matching().filter(([id]) => ended.has(id)).length, { message: path }).toBe(1);
      const [id, call] = matching()[0]!;
      const cookies = header(sent.get(id), "cookie") ?? "";
      return {
        ...call,
        // The network stack adds Origin (and Cookie) itself: they are in the headers it reports as sent.
        origin: header(sent.get(id), "origin"),
        sentCookies: cookies
          .split(";")
          .map((part) => part.trim().split("=")[0] ?? "")
          .filter(Boolean),
        status: received.get(id)?.status,
        responseHeaders: Object.fromEntries(
          Object.entries(received.get(id)?.headers ?? {}).map(([key, value]) => [key.toLowerCase(), value]),
        ),
      };
    },
  };
}

/**
 * The hostile machine's server on port 3000. It answers /api/health like a daemon (so os2 keeps the machine
 * `running`), serves /sw.js and /hello for the page's same-origin controls, logs every request, and serves
 * the attacking page for anything else. argv: dashboard origin, organization slug, project slug.
 */
const HOSTILE_SERVER = String.raw`
const fs = require("node:fs");
const http = require("node:http");
const [dashboard, organizationSlug, projectSlug] = process.argv.slice(2);
const LOG = "/tmp/hostile/requests.jsonl";
const page = ${"`"}<!doctype html>
<html><head><meta charset="utf-8"><title>hostile page loading</title></head>
<body><h1>A hostile page served by a machine</h1><pre id="results">running…</pre>
<script>
const dashboard = ${"${JSON.stringify(dashboard)}"};
const scope = ${"${JSON.stringify({ organizationSlug, projectSlug })}"};
const within = (promise) => Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), 10000))]);
async function attempt(name, work, results) {
  try { results[name] = { ok: true, value: await within(work()) }; }
  catch (error) { results[name] = { ok: false, error: error.name + ": " + error.message }; }
}
(async () => {
  const results = {};
  await attempt("sameOriginFetch", async () => (await fetch("/hello")).json(), results);
  await attempt("readUserMe", async () => {
    const response = await fetch(dashboard + "/api/trpc/user.me", { credentials: "include" });
    return { status: response.status, body: await response.text() };
  }, results);
  // text/plain keeps it a "simple" request: the browser sends it without a CORS preflight.
  await attempt("createToken", async () => {
    const response = await fetch(dashboard + "/api/trpc/accessToken.create?batch=1", {
      method: "POST",
      credentials: "include",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ 0: { json: { ...scope, name: "stolen-by-preview" } } }),
    });
    return { status: response.status, body: await response.text() };
  }, results);
  await attempt("ownServiceWorker", async () => (await navigator.serviceWorker.register("/sw.js", { scope: "/" })).scope, results);
  await attempt("dashboardServiceWorker", async () =>
    (await navigator.serviceWorker.register(dashboard + "/sw.js", { scope: dashboard + "/" })).scope, results);
  results.documentCookie = document.cookie;
  document.getElementById("results").textContent = JSON.stringify(results, null, 2);
  document.title = "hostile page done";
})();
</script></body></html>${"`"};
fs.mkdirSync("/tmp/hostile", { recursive: true });
http.createServer((req, res) => {
  fs.appendFileSync(LOG, JSON.stringify({ method: req.method, url: req.url, headers: req.headers }) + "\n");
  if (req.url === "/api/health") {
    const health = { status: "ok", version: "hostile", startedAt: new Date().toISOString(), uptimeSeconds: 1, services: [] };
    return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(health));
  }
  if (req.url === "/sw.js") return res.writeHead(200, { "content-type": "text/javascript" }).end("// a service worker\n");
  if (req.url === "/hello") return res.writeHead(200, { "content-type": "application/json" }).end('{"hello":"same origin"}');
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
}).listen(3000, "0.0.0.0");
`;

/** Where the dashboard and a machine's previews live, and whether a browser counts them as one site. */
type Deployment = {
  dashboard: string;
  /** Where Node reaches that dashboard (it cannot resolve the names Chromium maps). */
  connect: string;
  previewOrigin(machineId: string, port: number): string;
  /** Same site: SameSite=Lax cookies of the dashboard go along with a preview page's requests to it. */
  sameSite: boolean;
};

const SESSION_COOKIE = "better-auth.session_token";

/**
 * The hostile-machine journey, in one deployment: a member signs in, a machine is made hostile, the member
 * opens its page at the preview URL, and everything the page tried is checked in the browser, on the
 * network, on the dashboard and on the machine.
 */
async function hostileMachineJourney(page: Page, deployment: Deployment) {
  const context = page.context();
  const api = new DashboardApi(page, deployment.dashboard, deployment.connect);
  const suffix = randomBytes(3).toString("hex");
  await signIn(page, `preview-${suffix}+test@example.com`);
  const scope = await createProject(api, suffix);
  const machine = await ownedMachine(api, scope, `hostile-${suffix}`);
  try {
    const dashboardCookies = (await context.cookies(deployment.dashboard)).map((cookie) => cookie.name);
    expect(dashboardCookies, "the member's session cookie").toContain(SESSION_COOKIE);

    await test.step("the daemon is stopped and a hostile server takes port 3000", async () => {
      await execOk(machine.containerId, ["s6-svc", "-d", DAEMON_SERVICE]);
      await execOk(machine.containerId, ["s6-svwait", "-D", "-t", "10000", DAEMON_SERVICE]);
      await writeFileIn(machine.containerId, "/tmp/hostile/server.js", HOSTILE_SERVER);
      await execDetached(machine.containerId, [
        "node",
        "/tmp/hostile/server.js",
        deployment.dashboard,
        scope.organizationSlug,
        scope.projectSlug,
      ]);
      await expect
        .poll(
          async () => (await execIn(machine.containerId, ["curl", "-sf", "http://127.0.0.1:3000/api/health"])).stdout,
        )
        .toContain('"version":"hostile"');
    });

    const previewOrigin = deployment.previewOrigin(machine.id, 3000);
    const info = await api.query<PreviewInfo>("machine.getPreviewInfo", {
      ...scope,
      machineId: machine.id,
      port: 3000,
    });
    expect(info.previewUrl).toBe(`${previewOrigin}/`);

    // What Chromium's network stack sent to the dashboard's API and got back, before CORS hid it from the page.
    const dashboardCalls = await watchDashboardApi(page, deployment.dashboard);

    const results =
      await test.step("the member opens the page at its preview URL; the redirects set the preview's own cookie", async () => {
        const response = await page.goto(`${info.previewUrl}page`);
        expect(response?.status()).toBe(200);
        expect(page.url()).toBe(`${previewOrigin}/page`);
        const chain = redirectChain(response!.request()).map((url) => `${new URL(url).origin}${new URL(url).pathname}`);
        expect(chain).toEqual([
          `${previewOrigin}/page`,
          `${deployment.dashboard}/api/previews/open`,
          `${previewOrigin}/__os2/preview-auth`,
          `${previewOrigin}/page`,
        ]);
        const previewCookies = await context.cookies(previewOrigin);
        const cookie = previewCookies.find((candidate) => candidate.name === PREVIEW_COOKIE);
        expect(cookie, "the preview's cookie").toBeDefined();
        // Host-only (no Domain attribute: Playwright reports the bare host) and out of the page's reach.
        expect(cookie?.domain).toBe(new URL(previewOrigin).hostname);
        expect(cookie?.httpOnly).toBe(true);
        // The dashboard's cookies are not the preview host's, nor the other way round.
        expect(previewCookies.map((candidate) => candidate.name)).toEqual([PREVIEW_COOKIE]);
        expect((await context.cookies(deployment.dashboard)).map((candidate) => candidate.name)).not.toContain(
          PREVIEW_COOKIE,
        );
        await expect(page).toHaveTitle("hostile page done", { timeout: 30_000 });
        return JSON.parse(await page.locator("#results").innerText()) as HostileResults;
      });

    await test.step("the page runs on its own origin: its same-origin fetch works, and it cannot read its preview cookie", () => {
      expect(results.sameOriginFetch).toEqual({ ok: true, value: { hello: "same origin" } });
      expect(results.documentCookie).not.toContain(PREVIEW_COOKIE);
    });

    await test.step("it cannot read the dashboard's API: the request arrives, but the dashboard answers no CORS", async () => {
      expect(results.readUserMe).toEqual({ ok: false, error: "TypeError: Failed to fetch" });
      const call = await dashboardCalls.settled("/api/trpc/user.me");
      expect(call.origin).toBe(previewOrigin);
      expect(call.status).toBe(200);
      expect(Object.keys(call.responseHeaders).filter((name) => name.startsWith("access-control-"))).toEqual([]);
      if (deployment.sameSite) expect(call.sentCookies).toContain(SESSION_COOKIE);
      else expect(call.sentCookies, "Chromium keeps Lax cookies off a request from another site").toEqual([]);
    });

    await test.step("its POST to mint an access token fails, and no token exists", async () => {
      expect(results.createToken).toEqual({ ok: false, error: "TypeError: Failed to fetch" });
      const call = await dashboardCalls.settled("/api/trpc/accessToken.create");
      expect(call.method).toBe("POST");
      expect(call.origin).toBe(previewOrigin);
      if (deployment.sameSite) {
        // The member's session cookie went along: only the Origin guard stands between it and a new token.
        expect(call.sentCookies).toContain(SESSION_COOKIE);
        expect(call.status).toBe(403);
        // CORS hides the body from the page and from DevTools alike; its length pins it to the guard's answer.
        const refusal = JSON.stringify({
          error: `Cross-site request refused: Origin ${previewOrigin} is not this dashboard.`,
        });
        expect(call.responseHeaders["content-length"]).toBe(String(Buffer.byteLength(refusal)));
      } else {
        expect(call.sentCookies, "Chromium keeps Lax cookies off a request from another site").toEqual([]);
        expect(call.status).toBeGreaterThanOrEqual(400);
      }
      expect(await api.query<unknown[]>("accessToken.list", scope)).toEqual([]);
    });

    const dashboardRoute = `${deployment.dashboard}/org/${scope.organizationSlug}/proj/${scope.projectSlug}/${machine.id}/proxy/3000/page`;
    await test.step("the dashboard's route to the machine refuses the page: 502 JSON under the sandbox policy, no script runs", async () => {
      const response = await page.goto(dashboardRoute);
      expect(response?.status()).toBe(502);
      const headers = response?.headers() ?? {};
      expect(headers["content-security-policy"]).toBe("sandbox; default-src 'none'");
      expect(headers["x-content-type-options"]).toBe("nosniff");
      expect(headers["content-type"]).toMatch(/^application\/json/);
      const body = JSON.parse((await response?.text()) ?? "{}") as { message?: string };
      expect(body.message).toContain('"text/html; charset=utf-8"');
      expect(body.message).toContain("preview URL");
      expect(await page.title()).toBe("");
      await expect(page.locator("#results")).toHaveCount(0);
    });

    await test.step("the hostile server never saw the dashboard's session cookie, the preview's cookie or a project token", async () => {
      const recorded = (await execOk(machine.containerId, ["cat", "/tmp/hostile/requests.jsonl"]))
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as Recorded);
      const fromBrowser = recorded.filter((entry) => entry.url !== "/api/health").map((entry) => entry.url);
      // It did serve the member: the page twice (the preview, then the dashboard route's attempt) and its fetch.
      expect(fromBrowser.filter((url) => url === "/page")).toHaveLength(2);
      expect(fromBrowser).toContain("/hello");
      for (const entry of recorded) {
        const cookie = entry.headers.cookie ?? "";
        for (const name of [...dashboardCookies, PREVIEW_COOKIE]) {
          expect(cookie, `${entry.method} ${entry.url}`).not.toContain(name);
        }
        expect(entry.headers.authorization ?? "", `${entry.method} ${entry.url}`).not.toMatch(/pat_/);
      }
    });
    return results;
  } finally {
    await machine.remove();
  }
}

type HostileResults = Record<
  "sameOriginFetch" | "readUserMe" | "createToken" | "ownServiceWorker" | "dashboardServiceWorker",
  Attempt
> & {
  documentCookie: string;
};

test("on *.localhost previews, a machine's page opens for a member but cannot read the dashboard, mint a token, claim the dashboard's service worker scope or see its cookies, and the dashboard route refuses to serve it", async ({
  page,
}) => {
  test.setTimeout(120_000);
  const results = await hostileMachineJourney(page, {
    dashboard: E2E_BASE_URL,
    connect: E2E_API_URL,
    previewOrigin: (machineId, port) =>
      `http://${port}--${machineId.replace(/^mach_/, "mach-")}.localhost:${new URL(E2E_BASE_URL).port}`,
    sameSite: false,
  });
  await test.step("it registers a service worker for its own origin, but not for the dashboard's", () => {
    expect(results.ownServiceWorker).toMatchObject({
      ok: true,
      value: expect.stringMatching(/^http:\/\/3000--mach-.*\.localhost:\d+\/$/),
    });
    expect(results.dashboardServiceWorker).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^SecurityError: /),
    });
    expect((results.dashboardServiceWorker as { error: string }).error).toContain("origin");
  });
});

test.describe("previews on the dashboard's own site (app.os2.example.com + *.os2.example.com)", () => {
  let server: Awaited<ReturnType<typeof startSameSiteServer>> | undefined;
  test.beforeAll(async () => {
    test.setTimeout(90_000);
    server = await startSameSiteServer();
  });
  test.afterAll(async () => {
    await server?.stop();
  });

  test("a machine's page sends the member's cookie along to the dashboard, and the Origin guard refuses its token mint with 403; it still cannot read the dashboard or see its cookies", async () => {
    test.setTimeout(120_000);
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: SAME_SITE.chromiumArgs });
    try {
      const context = await browser.newContext({
        baseURL: SAME_SITE.dashboard,
        viewport: { width: 1280, height: 800 },
      });
      const page = await context.newPage();
      await hostileMachineJourney(page, {
        dashboard: SAME_SITE.dashboard,
        connect: `http://127.0.0.1:${SAME_SITE.port}`,
        previewOrigin: SAME_SITE.previewOrigin,
        sameSite: true,
      });
    } finally {
      await browser.close();
    }
  });
});

const VITE_DIR = "/workspace/preview-demo";
const ACCENT_BEFORE = "rgb(220, 38, 38)";
const ACCENT_AFTER = "rgb(22, 163, 74)";

const styleWith = (accent: string) => `:root { --accent: ${accent}; }
body {
  margin: 0; min-height: 100vh; display: grid; place-items: center;
  font-family: "DejaVu Sans", system-ui, sans-serif; background: #0f172a; color: #e2e8f0;
}
main { width: 860px; padding: 48px 56px; border-radius: 16px; background: #1e293b; box-shadow: 0 20px 60px #0008; }
h1 { margin: 12px 0 8px; font-size: 34px; }
p { margin: 8px 0; color: #94a3b8; font-size: 17px; line-height: 1.5; }
code { color: #e2e8f0; background: #0f172a; padding: 2px 6px; border-radius: 6px; font-size: 15px; }
.accent { color: var(--accent); font-weight: 700; font-size: 22px; margin-top: 28px; }
.badge { display: inline-block; padding: 4px 10px; border-radius: 999px; background: var(--accent); color: #fff; font-size: 14px; }
`;

const VITE_FILES: Record<string, string> = {
  "package.json": JSON.stringify({ name: "preview-demo", private: true, type: "module" }, null, 2),
  "index.html": `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><title>Vite inside an os2 machine</title></head>
  <body>
    <main>
      <span class="badge">vite dev server</span>
      <h1>A Vite dev server inside an os2 machine</h1>
      <p>Served from port 5173 of the machine, opened at its own preview origin:</p>
      <p><code id="preview-url"></code></p>
      <p class="accent" data-testid="accent">This line's colour comes from style.css</p>
      <p id="hmr-status">Waiting for an edit…</p>
    </main>
    <script type="module" src="/main.js"></script>
  </body>
</html>
`,
  "main.js": `import "./style.css";
// Set once per page load: a full reload would give it a new value.
window.__loadedAt = performance.timeOrigin;
document.getElementById("preview-url").textContent = location.origin + "/";
let updates = 0;
import.meta.hot?.on("vite:afterUpdate", () => {
  updates += 1;
  document.getElementById("hmr-status").textContent =
    updates + " hot update" + (updates === 1 ? "" : "s") + " over the preview's WebSocket, no reload.";
});
`,
  "style.css": styleWith(ACCENT_BEFORE),
};

test("a Vite dev server inside a machine opens at its preview URL and hot-updates its CSS over the preview's WebSocket, without a reload", async ({
  page,
}) => {
  test.setTimeout(180_000);
  const suffix = randomBytes(3).toString("hex");
  const api = new DashboardApi(page);
  await signIn(page, `vite-${suffix}+test@example.com`);
  const scope = await createProject(api, suffix);
  const machine = await ownedMachine(api, scope, `vite-${suffix}`);
  try {
    await test.step(`install vite@${VITE_SPEC} from the npm registry inside the machine and start it on 5173`, async () => {
      for (const [name, content] of Object.entries(VITE_FILES)) {
        await writeFileIn(machine.containerId, `${VITE_DIR}/${name}`, content);
      }
      const started = Date.now();
      await execOk(machine.containerId, [
        "sh",
        "-c",
        `cd ${VITE_DIR} && npm install --no-fund --no-audit --loglevel=error vite@${VITE_SPEC}`,
      ]);
      console.log(
        `npm install vite@${VITE_SPEC} inside the machine took ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      await execDetached(machine.containerId, [
        "sh",
        "-c",
        `cd ${VITE_DIR} && exec node_modules/.bin/vite --host 127.0.0.1 --port 5173 --strictPort > /tmp/vite.log 2>&1`,
      ]);
    });

    const info = await api.query<PreviewInfo>("machine.getPreviewInfo", {
      ...scope,
      machineId: machine.id,
      port: 5173,
    });
    const previewOrigin = `http://5173--${machine.id.replace(/^mach_/, "mach-")}.localhost:${new URL(E2E_BASE_URL).port}`;
    expect(info.previewUrl).toBe(`${previewOrigin}/`);

    await test.step("the machine lists port 5173 with the same preview URL", async () => {
      await expect
        .poll(
          async () => {
            const ports = await api.query<ListedPort[]>("machine.ports", { ...scope, machineId: machine.id });
            return ports.find((port) => port.port === 5173)?.previewUrl ?? null;
          },
          { timeout: 30_000 },
        )
        .toBe(info.previewUrl);
    });

    const sockets: WebSocket[] = [];
    const updates: string[] = [];
    page.on("websocket", (socket) => {
      sockets.push(socket);
      socket.on("framereceived", ({ payload }) => {
        if (typeof payload === "string" && payload.includes('"type":"update"')) updates.push(payload);
      });
    });

    const loadedAt =
      await test.step("the member opens the preview URL; the page renders with its CSS and Vite's client connects", async () => {
        const response = await page.goto(info.previewUrl);
        expect(response?.status()).toBe(200);
        expect(page.url()).toBe(`${previewOrigin}/`);
        await expect(page.getByRole("heading", { name: "A Vite dev server inside an os2 machine" })).toBeVisible();
        await expect(page.locator("#preview-url")).toHaveText(`${previewOrigin}/`);
        const accent = page.getByTestId("accent");
        await expect(accent).toHaveCSS("color", ACCENT_BEFORE);
        await expect
          .poll(() => sockets.filter((socket) => !socket.isClosed()).map((socket) => new URL(socket.url()).host))
          .toEqual([new URL(previewOrigin).host]);
        return page.evaluate(() => (window as unknown as { __loadedAt: number }).__loadedAt);
      });

    await test.step("editing style.css inside the machine recolours the page over the WebSocket, without a reload", async () => {
      await writeFileIn(machine.containerId, `${VITE_DIR}/style.css`, styleWith(ACCENT_AFTER));
      await expect(page.getByTestId("accent")).toHaveCSS("color", ACCENT_AFTER, { timeout: 20_000 });
      expect(updates.length, "HMR update messages received over the preview's WebSocket").toBeGreaterThan(0);
      expect(updates.join("\n")).toContain("/style.css");
      expect(await page.evaluate(() => (window as unknown as { __loadedAt: number }).__loadedAt)).toBe(loadedAt);
      await expect(page.locator("#hmr-status")).toHaveText("1 hot update over the preview's WebSocket, no reload.");
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, "preview-dev-server.png"), animations: "disabled" });
    });
  } finally {
    await machine.remove();
  }
});
