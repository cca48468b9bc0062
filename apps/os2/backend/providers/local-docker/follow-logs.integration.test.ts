/**
 * `followLogs` of the local-docker provider against a real Docker Engine, through a TCP relay that counts
 * the engine's connections and the bytes they carry: so the tests see the engine's side of the stream
 * (whether it is still open, how much it sent), not only what the iterator yields.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server, Socket } from "node:net";

import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

import {
  buildFixtureImage,
  ensureTestBaseImage,
  FIXTURE_DAEMON_SCRIPT,
} from "../../../test-support/docker-fixture-image";
import { TEST_LIMITS } from "../../testing/limits.ts";
import { toDockerodeOptions } from "./docker-host";
import { LocalDockerProvider, resolveDockerHost } from "./index";

const runId = `fl${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
const stage = `test-${runId}`;
const fixtureTag = `os2-follow-logs-fixture:${runId}`;

let docker: Dockerode;
let provider: LocalDockerProvider;
let relay: { server: Server; logStreams: Set<{ client: Socket; bytes: number; closed: boolean }> };
let externalId: string;

/** Forwards to the engine; remembers each connection that asked for a followed log. */
async function startRelay(target: { host: string; port: number }) {
  const logStreams = new Set<{ client: Socket; bytes: number; closed: boolean }>();
  const server = createServer((client) => {
    const upstream = new Socket();
    upstream.connect(target.port, target.host);
    const entry = { client, bytes: 0, closed: false };
    // Connections are kept alive and reused: any request on it may be the follow.
    client.on("data", (data: Buffer) => {
      if (/^GET \S*\/containers\/\S+\/logs\?\S*follow=(true|1)/m.test(data.toString("latin1"))) {
        entry.bytes = 0;
        logStreams.add(entry);
      }
    });
    upstream.on("data", (data: Buffer) => {
      entry.bytes += data.length;
    });
    // pipe() keeps backpressure: a client that does not read holds the engine's socket back.
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      entry.closed = true;
      client.destroy();
      upstream.destroy();
    };
    client.on("close", close);
    upstream.on("close", close);
    client.on("error", close);
    upstream.on("error", close);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, logStreams };
}

async function execInMachine(script: string): Promise<void> {
  const exec = await docker
    .getContainer(externalId)
    .exec({ Cmd: ["sh", "-c", script], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  stream.resume();
  await new Promise((resolve) => stream.on("end", resolve));
}

async function until(condition: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  const dockerHost = await resolveDockerHost(process.env.DOCKER_HOST);
  docker = new Dockerode(toDockerodeOptions(dockerHost));
  const url = new URL(dockerHost.replace(/^tcp:/, "http:"));
  if (url.protocol !== "http:") throw new Error(`these tests relay a TCP DOCKER_HOST, not ${dockerHost}`);
  relay = await startRelay({ host: url.hostname, port: Number(url.port || 2375) });
  const { port } = relay.server.address() as { port: number };
  const base = await ensureTestBaseImage();
  await buildFixtureImage(docker, { base, tag: fixtureTag, entrypoint: ["node", "-e", FIXTURE_DAEMON_SCRIPT] });
  provider = new LocalDockerProvider({ dockerHost: `tcp://127.0.0.1:${port}`, imageName: fixtureTag, stage });
  const machineId = `${runId}-m1`;
  ({ externalId } = await provider.create({
    machineId,
    name: machineId,
    envVars: {},
    labels: {
      "os2.managed": "true",
      "os2.installation": "inst_test",
      "os2.machine-id": machineId,
      "os2.project-id": `${runId}-p1`,
      "os2.stage": stage,
    },
    limits: TEST_LIMITS,
    profile: "standard",
  }));
}, 300_000);

afterAll(async () => {
  if (externalId)
    await docker
      .getContainer(externalId)
      .remove({ force: true })
      .catch(() => undefined);
  await docker
    ?.getImage(fixtureTag)
    .remove({ force: true })
    .catch(() => undefined);
  relay?.server.close();
});

describe("LocalDockerProvider.followLogs", () => {
  test("yields the tail, then a line written to PID 1's stdout, and closes the engine's stream when aborted", async () => {
    const abort = new AbortController();
    const before = new Set(relay.logStreams);
    const batches = provider.followLogs(externalId, { tail: 50 }, abort.signal)[Symbol.asyncIterator]();
    const seen: string[] = [];
    while (!seen.includes("fixture stdout ready") || !seen.includes("fixture stderr ready")) {
      const next = await batches.next();
      if (next.done) throw new Error("the followed log ended early");
      seen.push(...next.value);
    }
    const stream = [...relay.logStreams].find((entry) => !before.has(entry));
    expect(stream, "the engine's follow connection").toBeDefined();

    const started = Date.now();
    await execInMachine("echo followed line one > /proc/1/fd/1; echo followed line two > /proc/1/fd/2");
    const fresh: string[] = [];
    while (!fresh.includes("followed line one") || !fresh.includes("followed line two")) {
      const next = await batches.next();
      if (next.done) throw new Error("the followed log ended early");
      fresh.push(...next.value);
    }
    expect(Date.now() - started).toBeLessThan(2_000);

    // Aborting while a pull waits ends the iteration and closes the connection to the engine.
    const pending = batches.next();
    abort.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
    await until(() => stream?.closed === true, 2_000, "the engine's log stream to close");
  });

  test("a reader that stops pulling holds the engine's stream back, and gets the rest when it pulls again", async () => {
    const abort = new AbortController();
    const before = new Set(relay.logStreams);
    const batches = provider.followLogs(externalId, { tail: 1 }, abort.signal)[Symbol.asyncIterator]();
    try {
      await batches.next(); // The tail: the stream is open.
      const stream = [...relay.logStreams].find((entry) => !before.has(entry));
      if (!stream) throw new Error("no follow connection seen");
      // 32 MB of output, while nobody pulls. Docker stores it all; os2 must not.
      const total = 32 * 1024 * 1024;
      await execInMachine(
        `yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde | head -c ${total} > /proc/1/fd/1; echo end-of-flood > /proc/1/fd/1`,
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const heldAt = stream.bytes;
      // What is in flight is bounded by socket and stream buffers, far below what was written.
      expect(heldAt).toBeLessThan(total / 4);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(stream.bytes - heldAt).toBeLessThan(1024 * 1024);

      let lines = 0;
      let longest = 0;
      for (;;) {
        const next = await batches.next();
        if (next.done) throw new Error("the followed log ended early");
        lines += next.value.length;
        longest = Math.max(longest, ...next.value.map((line) => line.length));
        if (next.value.includes("end-of-flood")) break;
      }
      expect(lines).toBe(total / 64 + 1);
      expect(longest).toBe(63);
    } finally {
      abort.abort();
      await batches.return?.();
    }
  }, 120_000);
});
