/**
 * The usage hub against a real Docker Engine: a fixture container (the stand-in daemon image) and the real
 * local-docker provider, wrapped only to count the stats streams it opens and closes.
 */
import { randomBytes } from "node:crypto";

import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

import {
  buildFixtureImage,
  ensureTestBaseImage,
  FIXTURE_DAEMON_SCRIPT,
} from "../../../test-support/docker-fixture-image";
import type { Logger } from "../../logger.ts";
import { toDockerodeOptions } from "../../providers/local-docker/docker-host";
import { LocalDockerProvider, resolveDockerHost } from "../../providers/local-docker/index";
import type { ProviderRegistry } from "../../providers/registry.ts";
import type { MachineProvider, UsageReading } from "../../providers/types.ts";
import { TEST_LIMITS } from "../../testing/limits.ts";
import { UsageHub, type UsageSample, type UsageTarget } from "./usage-hub.ts";

const runId = `uh${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
const stage = `test-${runId}`;
const fixtureTag = `os2-usage-fixture:${runId}`;
const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };

let docker: Dockerode;
let provider: LocalDockerProvider;
let target: UsageTarget;
const streams = { opened: 0, closed: 0 };

/** The real provider, counting its stats streams: opened when the hub starts reading, closed in `finally`. */
function countingRegistry(): ProviderRegistry {
  const counting = Object.create(provider) as MachineProvider;
  counting.usage = async function* (externalId: string, signal: AbortSignal): AsyncIterable<UsageReading> {
    streams.opened += 1;
    try {
      yield* provider.usage(externalId, signal);
    } finally {
      streams.closed += 1;
    }
  };
  return { "local-docker": counting, daytona: counting };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function exec(containerId: string, cmd: string[]) {
  const run = await docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await run.start({ hijack: true, stdin: false });
  await new Promise((resolve) => {
    stream.on("end", resolve);
    stream.resume();
  });
}

beforeAll(async () => {
  const dockerHost = await resolveDockerHost(process.env.DOCKER_HOST);
  docker = new Dockerode(toDockerodeOptions(dockerHost));
  const base = await ensureTestBaseImage();
  await buildFixtureImage(docker, { base, tag: fixtureTag, entrypoint: ["node", "-e", FIXTURE_DAEMON_SCRIPT] });
  provider = new LocalDockerProvider({ dockerHost, imageName: fixtureTag, stage });
  const machineId = `${runId}-m1`;
  const { externalId } = await provider.create({
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
  });
  target = { id: machineId, type: "local-docker", externalId, ...TEST_LIMITS };
});

afterAll(async () => {
  if (!docker) return;
  const containers = await docker.listContainers({ all: true, filters: { label: [`os2.stage=${stage}`] } });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  await docker
    .getImage(fixtureTag)
    .remove({ force: true })
    .catch(() => undefined);
});

describe("the usage hub", () => {
  test("two viewers share one Docker stats stream, which closes once both left and the grace period passed", async () => {
    streams.opened = 0;
    streams.closed = 0;
    const hub = new UsageHub({ providers: countingRegistry(), log: silent, graceMs: 500, diskIntervalMs: 60_000 });
    const first: UsageSample[] = [];
    const second: UsageSample[] = [];
    const leaveFirst = hub.subscribe(target, (sample) => first.push(sample));
    const leaveSecond = hub.subscribe(target, (sample) => second.push(sample));
    await until("samples for both viewers", () => (first.length >= 2 && second.length >= 2 ? true : undefined));
    expect(streams.opened).toBe(1);
    expect(hub.openChannels).toBe(1);
    // The limits os2 gave the container, and what it uses now (a node process: some memory, a few pids).
    const latest = second.at(-1)!;
    expect(latest.memoryLimitBytes).toBe(TEST_LIMITS.memoryMb * 1024 * 1024);
    expect(latest.pidsLimit).toBe(TEST_LIMITS.pids);
    expect(latest.cpuLimitCores).toBe(TEST_LIMITS.cpuMillis / 1000);
    expect(latest.memoryBytes).toBeGreaterThan(1024 * 1024);
    expect(latest.pids).toBeGreaterThanOrEqual(1);

    leaveFirst();
    leaveFirst(); // twice is once
    await sleep(800);
    expect(streams.closed).toBe(0);
    leaveSecond();
    // Someone comes back within the grace period: the same stream goes on.
    await sleep(200);
    const third: UsageSample[] = [];
    const leaveThird = hub.subscribe(target, (sample) => third.push(sample));
    expect(third.length).toBe(1); // the newest sample at once
    await sleep(800);
    expect(streams.opened).toBe(1);
    leaveThird();
    await until("the stream to close", () => (streams.closed === 1 ? true : undefined), 5_000);
    expect(hub.openChannels).toBe(0);
    hub.close();
  });

  test("a busy loop shows up in CPU within a few seconds, and disk use comes from the writable layer", async () => {
    const hub = new UsageHub({ providers: countingRegistry(), log: silent, graceMs: 100, diskIntervalMs: 1_000 });
    const samples: UsageSample[] = [];
    const leave = hub.subscribe(target, (sample) => samples.push(sample));
    try {
      await exec(target.externalId!, ["sh", "-c", "dd if=/dev/zero of=/tmp/usage-disk bs=1M count=8 2>/dev/null"]);
      await exec(target.externalId!, ["sh", "-c", "timeout 20 sh -c 'while :; do :; done' >/dev/null 2>&1 &"]);
      const busy = await until("a busy CPU figure", () => samples.find((s) => (s.cpuPercent ?? 0) > 50));
      expect(busy.cpuCores).toBeGreaterThan(0.5);
      const disk = await until("a disk figure", () => samples.find((s) => (s.diskBytes ?? 0) >= 8 * 1024 * 1024));
      expect(disk.diskBytes).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    } finally {
      leave();
      await exec(target.externalId!, ["sh", "-c", "pkill -f 'while :' || true"]).catch(() => undefined);
      hub.close();
    }
  });
});
