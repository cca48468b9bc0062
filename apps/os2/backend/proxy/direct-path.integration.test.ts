/**
 * The shortest path from os2 to a local machine, on a real Docker Engine with the real image: where the
 * host reaches the os2 bridge, both doors connect to the machine's own address (no docker-proxy, no daemon
 * forward), and keep those connections for the next requests; an app bound to the machine's loopback is
 * still reached, through the daemon's forward; and where the bridge is out of the host's reach (here an os2
 * whose probe finds it silent, as os2 in a container would), everything goes through the published port and
 * the forward as before. The apps inside the machine report which address connected to them.
 */
import http from "node:http";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createUnconfiguredDaytonaProvider } from "../providers/daytona/index.ts";
import { LocalDockerProvider, resolveDockerHost } from "../providers/local-docker/index.ts";
import { probeTcp } from "../providers/local-docker/machine-address.ts";
import { createTestOs2, DASHBOARD_ORIGIN, type TestOs2 } from "../testing/harness.ts";
import { docker, removeContainersOfStage, setUpProject, waitForObservedState } from "../testing/machine-fixtures.ts";

const IMAGE = process.env.LOCAL_DOCKER_IMAGE_NAME ?? "iterate-sandbox:local";

/** Two apps inside the machine: one on every interface, one on the machine's loopback only. */
const APPS = `
const http = require("node:http");
const peer = (q, s) => s.writeHead(200, { "content-type": "application/json" })
  .end(JSON.stringify({ address: q.socket.remoteAddress, port: q.socket.remotePort }));
http.createServer(peer).listen(8080, "0.0.0.0");
http.createServer(peer).listen(8081, "127.0.0.1");
`;

type Fixture = Awaited<ReturnType<typeof setUpProject>>;
type Running = { t: TestOs2; fx: Fixture; base: string; machineId: string; externalId: string; token: string };

async function startMachine(t: TestOs2, name: string): Promise<Running> {
  const fx = await setUpProject(t, `${name}+test@example.com`);
  const base = await t.listen();
  const created = await fx.api.machine.create.mutate({ ...fx.scope, name, type: "local-docker" });
  const byId = () => fx.api.machine.byId.query({ ...fx.scope, machineId: created.id });
  await waitForObservedState(byId, "running");
  const externalId = (await byId()).externalId ?? "";
  const { token } = await fx.api.accessToken.create.mutate({ ...fx.scope, name: `${name} previews` });
  const running = { t, fx, base, machineId: created.id, externalId, token };
  const script = Buffer.from(APPS).toString("base64");
  await exec(
    running,
    `echo ${script} | base64 -d > /tmp/apps.js && (setsid node /tmp/apps.js >/dev/null 2>&1 </dev/null &)`,
  );
  return running;
}

function exec(machine: Running, command: string) {
  const { fx, base, machineId } = machine;
  return fetch(`${base}/org/${fx.org.slug}/proj/${fx.project.slug}/${machineId}/proxy/3000/api/exec`, {
    method: "POST",
    headers: { cookie: fx.cookie, origin: DASHBOARD_ORIGIN, "content-type": "application/json" },
    body: JSON.stringify({ command: "bash", args: ["-c", command], timeoutMs: 10_000 }),
  }).then(async (response) => {
    if (!response.ok) throw new Error(`exec answered ${response.status}: ${await response.text()}`);
  });
}

function daemonStatus(machine: Running, path: string): Promise<number> {
  const { fx, base, machineId } = machine;
  const url = `${base}/org/${fx.org.slug}/proj/${fx.project.slug}/${machineId}/proxy/3000${path}`;
  return fetch(url, { headers: { cookie: fx.cookie } }).then((response) => response.status);
}

/** GET through the preview origin of `port` (Node's fetch cannot set Host), as an API client with a token. */
function previewPeer(machine: Running, port: number): Promise<{ address: string; port: number } | null> {
  const url = new URL(machine.base);
  const host = new URL(machine.t.os2.previewOrigin.urlFor(machine.machineId, port)).host;
  return new Promise((resolve) => {
    const request = http.get(
      { host: url.hostname, port: url.port, path: "/", headers: { host, authorization: `Bearer ${machine.token}` } },
      (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString()));
        response.on("end", () => resolve(response.statusCode === 200 ? JSON.parse(body) : null));
      },
    );
    request.on("error", () => resolve(null));
  });
}

async function bridgeOf(externalId: string) {
  const info = await docker.getContainer(externalId).inspect();
  const network = Object.values(info.NetworkSettings.Networks ?? {})[0];
  return { address: network?.IPAddress ?? "", gateway: network?.Gateway ?? "" };
}

const LOOPBACK = /^(127\.0\.0\.1|::ffff:127\.0\.0\.1|::1)$/;

describe("the shortest path to a local machine", () => {
  let direct: Running;
  let fallback: Running;
  let fallbackProvider: LocalDockerProvider;
  const daemonProbes: string[] = [];

  beforeAll(async () => {
    const t = await createTestOs2({ env: { LOCAL_DOCKER_IMAGE_NAME: IMAGE } });
    fallbackProvider = new LocalDockerProvider({
      dockerHost: await resolveDockerHost(process.env.DOCKER_HOST),
      imageName: IMAGE,
      stage: "direct-path-fallback",
      // A host that cannot reach the bridge: the handshake never comes back.
      addressProbe: async (host, port) => {
        daemonProbes.push(`${host}:${port}`);
        return "unreachable";
      },
    });
    const silent = await createTestOs2({
      providers: { "local-docker": fallbackProvider, daytona: createUnconfiguredDaytonaProvider() },
    });
    [direct, fallback] = await Promise.all([startMachine(t, "direct"), startMachine(silent, "fallback")]);
  }, 120_000);

  afterAll(async () => {
    for (const machine of [direct, fallback]) {
      if (!machine) continue;
      const stage = machine.t.os2.deps.stage;
      await machine.t.close();
      await removeContainersOfStage(stage);
    }
  });

  it("reaches the daemon and an app at the machine's bridge address, with no hop between, over kept connections", async () => {
    const { address, gateway } = await bridgeOf(direct.externalId);
    const endpoint = await direct.t.os2.providers["local-docker"].daemonEndpoint(direct.externalId, 3000);
    expect(endpoint.url).toBe(`http://${address}:3000`);
    expect(await daemonStatus(direct, "/api/health")).toBe(200);

    await expect.poll(() => previewPeer(direct, 8080), { timeout: 15_000 }).not.toBeNull();
    // The endpoint os2 cached while the app was starting may be the forward's; it lasts a few seconds.
    await expect.poll(async () => (await previewPeer(direct, 8080))?.address, { timeout: 15_000 }).toBe(gateway);
    // The app sees os2's own connection from the host (the bridge's gateway), not the daemon's loopback
    // one: nothing sits between. Sequential requests arrive over one connection.
    const peers = [];
    for (let i = 0; i < 10; i++) peers.push(await previewPeer(direct, 8080));
    expect(new Set(peers.map((peer) => peer?.address))).toEqual(new Set([gateway]));
    expect(new Set(peers.map((peer) => peer?.port)).size).toBe(1);
  });

  it("reaches an app bound to the machine's loopback only through the daemon's forward", async () => {
    await expect
      .poll(async () => (await previewPeer(direct, 8081))?.address ?? "", { timeout: 15_000 })
      .toMatch(LOOPBACK);
  });

  it("falls back to the published port and the daemon's forward where the bridge is out of reach, decided once per machine", async () => {
    const { address } = await bridgeOf(fallback.externalId);
    const published = Number(
      (await docker.getContainer(fallback.externalId).inspect()).NetworkSettings.Ports["3000/tcp"]?.[0]?.HostPort,
    );
    for (let i = 0; i < 3; i++) {
      expect((await fallbackProvider.daemonEndpoint(fallback.externalId, 3000)).url).toBe(
        `http://127.0.0.1:${published}`,
      );
    }
    expect(await daemonStatus(fallback, "/api/health")).toBe(200);
    await expect
      .poll(async () => (await previewPeer(fallback, 8080))?.address ?? "", { timeout: 15_000 })
      .toMatch(LOOPBACK);
    expect(daemonProbes.filter((probe) => probe === `${address}:3000`)).toHaveLength(1);
  });

  it("the real probe finds this host's bridge reachable (so the first test ran on the direct path)", async () => {
    const { address } = await bridgeOf(direct.externalId);
    expect(await probeTcp(address, 3000, 1_500)).toBe("open");
  });
});
