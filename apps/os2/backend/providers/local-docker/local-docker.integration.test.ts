/**
 * The local-docker provider against a real Docker Engine (DOCKER_HOST, default tcp://127.0.0.1:2375;
 * scripts/ensure-docker.sh starts one). Fixture images are built FROM a local node image, and every
 * container carries this run's stage label: afterAll removes them all, and a failing test prints them.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { networkInterfaces } from "node:os";

import Dockerode from "dockerode";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";

import {
  buildFixtureImage,
  ensureTestBaseImage,
  FIXTURE_DAEMON_SCRIPT,
} from "../../../test-support/docker-fixture-image";
import { TEST_LIMITS } from "../../testing/limits.ts";
import { isProviderError, ProviderError } from "../errors";
import type { CreateMachineInput } from "../types";
import { toDockerodeOptions } from "./docker-host";
import { LocalDockerProvider, resolveDockerHost } from "./index";
import { DEFAULT_MACHINE_NETWORK } from "./local-docker-provider";
import { probeTcp } from "./machine-address";

const runId = `ld${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
const stage = `test-${runId}`;
const fixtureTag = `os2-local-docker-fixture:${runId}`;
const brokenTag = `os2-local-docker-broken:${runId}`;
const rebuiltTag = `os2-local-docker-rebuilt:${runId}`;
const imageTags = [fixtureTag, brokenTag, rebuiltTag];

let dockerHost: string;
let docker: Dockerode;
let provider: LocalDockerProvider;
/** The same engine, as where os2 cannot reach the bridge (os2 in a container, Docker Desktop's VM). */
let publishedOnly: LocalDockerProvider;
let sequence = 0;

function machineInput(overrides: Partial<CreateMachineInput> = {}): CreateMachineInput {
  sequence += 1;
  const machineId = `${runId}-m${sequence}`;
  return {
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
    ...overrides,
  };
}

async function runContainers(): Promise<Dockerode.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`os2.stage=${stage}`] } });
}

async function containersOfMachine(machineId: string): Promise<Dockerode.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`os2.machine-id=${machineId}`] } });
}

async function waitForHealth(baseUrl: string, timeoutMs = 10_000): Promise<{ status: string; port: number }> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${baseUrl}/api/health`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return (await response.json()) as { status: string; port: number };
      lastError = new Error(`HTTP ${response.status}`);
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${baseUrl}/api/health did not answer within ${timeoutMs} ms`, { cause: lastError });
}

async function expectProviderError(promise: Promise<unknown>, kind: ProviderError["kind"]): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ProviderError ${kind}`).toBeInstanceOf(ProviderError);
  expect((error as ProviderError).kind).toBe(kind);
  return error as ProviderError;
}

beforeAll(async () => {
  dockerHost = await resolveDockerHost(process.env.DOCKER_HOST);
  docker = new Dockerode(toDockerodeOptions(dockerHost));
  const base = await ensureTestBaseImage();
  await buildFixtureImage(docker, { base, tag: fixtureTag, entrypoint: ["node", "-e", FIXTURE_DAEMON_SCRIPT] });
  // Create succeeds, start fails: the runtime cannot exec a missing binary.
  await buildFixtureImage(docker, { base, tag: brokenTag, entrypoint: ["/os2-no-such-binary"] });
  provider = new LocalDockerProvider({ dockerHost, imageName: fixtureTag, stage, previewPorts: [8080] });
  publishedOnly = new LocalDockerProvider({
    dockerHost,
    imageName: fixtureTag,
    stage,
    previewPorts: [8080],
    bridgeAddresses: false,
  });
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(async () => {
    const containers = await runContainers().catch(() => []);
    console.error(
      `[local-docker test ${runId}] containers of stage ${stage}:\n` +
        containers.map((c) => `  ${c.Id.slice(0, 12)} ${c.Names.join(",")} ${c.State} ${c.Status}`).join("\n"),
    );
  });
});

afterAll(async () => {
  if (!docker) return;
  const containers = await runContainers().catch(() => []);
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  for (const tag of imageTags)
    await docker
      .getImage(tag)
      .remove({ force: true })
      .catch(() => undefined);
});

describe("LocalDockerProvider", () => {
  test("create publishes port 3000 on 127.0.0.1 only; os2 connects at the bridge address where it can, else there", async () => {
    const input = machineInput();
    const { externalId, metadata } = await provider.create(input);

    const info = await docker.getContainer(externalId).inspect();
    expect(info.Name).toBe(`/os2-${input.machineId}`);
    expect(info.HostConfig.RestartPolicy?.Name).toBe("no");
    expect(info.HostConfig.PortBindings).toEqual({
      "3000/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }],
      "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }],
    });
    const bindings = info.NetworkSettings.Ports["3000/tcp"] ?? [];
    expect(bindings.length).toBeGreaterThan(0);
    expect(bindings.every((b) => b.HostIp === "127.0.0.1")).toBe(true);
    const hostPort = Number(bindings[0]?.HostPort);

    expect(metadata).toMatchObject({
      containerId: externalId,
      containerName: `os2-${input.machineId}`,
      imageId: (await docker.getImage(fixtureTag).inspect()).Id,
      imageName: fixtureTag,
      port: hostPort,
      ports: { 3000: hostPort, 8080: Number(info.NetworkSettings.Ports["8080/tcp"]?.[0]?.HostPort) },
    });

    // The host reaches the os2 bridge here, so os2 connects to the container's own address: no
    // docker-proxy, no daemon forward in between.
    const address = info.NetworkSettings.Networks[DEFAULT_MACHINE_NETWORK]?.IPAddress;
    expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const endpoint = await provider.daemonEndpoint(externalId, 3000);
    expect(endpoint).toEqual({
      url: `http://${address}:3000`,
      headers: {},
      credentialHeader: "authorization",
      forwardsHost: true,
    });
    expect(await waitForHealth(endpoint.url)).toEqual({ status: "ok", port: 3000 });
    const preview = await provider.daemonEndpoint(externalId, 8080);
    expect(preview).toEqual({ url: `http://${address}:8080`, headers: {}, forwardsHost: true });
    expect(await waitForHealth(preview.url)).toEqual({ status: "ok", port: 8080 });
    // A port where nothing listens on the bridge address (an app on the machine's loopback, or none yet)
    // is reached through the daemon's forward, which connects from inside.
    expect(await provider.daemonEndpoint(externalId, 9999)).toEqual({
      url: `http://${address}:3000/api/forward/9999/`,
      headers: {},
      credentialHeader: "x-os2-machine-token",
      forwardsHost: true,
    });

    // Where the host cannot reach the bridge: the published port, and the forward behind it.
    expect(await publishedOnly.daemonEndpoint(externalId, 3000)).toEqual({
      url: `http://127.0.0.1:${hostPort}`,
      headers: {},
      credentialHeader: "authorization",
      forwardsHost: true,
    });
    expect(await waitForHealth(`http://127.0.0.1:${hostPort}`)).toEqual({ status: "ok", port: 3000 });
    expect(await publishedOnly.daemonEndpoint(externalId, 9999)).toEqual({
      url: `http://127.0.0.1:${hostPort}/api/forward/9999/`,
      headers: {},
      credentialHeader: "x-os2-machine-token",
      forwardsHost: true,
    });

    // Loopback only: the same host port on any other local address refuses connections.
    const externalAddresses = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.family === "IPv4" && !a.internal)
      .map((a) => a?.address);
    for (const address of externalAddresses) {
      await expect(
        fetch(`http://${address}:${hostPort}/api/health`, { signal: AbortSignal.timeout(2_000) }),
      ).rejects.toThrow();
    }
  });

  test("create uses the newest build of the image tag", async () => {
    const base = await ensureTestBaseImage();
    const entrypoint = ["node", "-e", FIXTURE_DAEMON_SCRIPT];
    const firstBuild = await buildFixtureImage(docker, { base, tag: rebuiltTag, entrypoint, labels: { build: "1" } });
    const rebuiltProvider = new LocalDockerProvider({ dockerHost, imageName: rebuiltTag, stage });
    const first = await rebuiltProvider.create(machineInput());
    const secondBuild = await buildFixtureImage(docker, { base, tag: rebuiltTag, entrypoint, labels: { build: "2" } });
    expect(secondBuild).not.toBe(firstBuild);
    const second = await rebuiltProvider.create(machineInput());
    expect(first.metadata.imageId).toBe(firstBuild);
    expect(second.metadata.imageId).toBe(secondBuild);
    expect((await docker.getContainer(second.externalId).inspect()).Image).toBe(secondBuild);
  });

  test("env vars arrive in the container as given, with control characters stripped", async () => {
    const envVars = { PLAIN: "hello world", WITH_CONTROL: "a\u0000b\nc\td\u007fe\u001bf", _EQUALS: "x=y=z", EMPTY: "" };
    const { externalId } = await provider.create(machineInput({ envVars }));
    const endpoint = await provider.daemonEndpoint(externalId, 3000);
    await waitForHealth(endpoint.url);
    const env = (await (await fetch(`${endpoint.url}/env`)).json()) as Record<string, string>;
    expect(env).toMatchObject({ PLAIN: "hello world", WITH_CONTROL: "abcdef", _EQUALS: "x=y=z", EMPTY: "" });
  });

  test("invalid env var names are rejected before any container exists", async () => {
    for (const badName of ["BAD-NAME", "1LEADING_DIGIT", "A=B", "", "SPACE NAME"]) {
      const input = machineInput({ envVars: { GOOD: "1", [badName]: "x" } });
      const error = await expectProviderError(provider.create(input), "invalid_state");
      expect(error.message).toContain(JSON.stringify(badName));
      expect(await containersOfMachine(input.machineId)).toEqual([]);
    }
  });

  test("containers carry os2 labels, and list filters by them and ignores containers without them", async () => {
    const a = machineInput();
    const b = machineInput();
    b.labels = { ...b.labels, "os2.project-id": `${runId}-p2` };
    const createdA = await provider.create(a);
    const createdB = await provider.create(b);
    expect((await docker.getContainer(createdA.externalId).inspect()).Config.Labels).toMatchObject(a.labels);

    // Same engine, same image: one container with no labels at all, one with this stage but not os2.managed.
    const strangers = await Promise.all([
      docker.createContainer({ Image: fixtureTag, name: `stranger-${runId}-1` }),
      docker.createContainer({ Image: fixtureTag, name: `stranger-${runId}-2`, Labels: { "os2.stage": stage } }),
    ]);
    try {
      const all = await provider.list({});
      const listedIds = all.map((m) => m.externalId);
      expect(listedIds).toEqual(expect.arrayContaining([createdA.externalId, createdB.externalId]));
      for (const stranger of strangers) expect(listedIds).not.toContain(stranger.id);
      for (const machine of all)
        expect(machine.labels).toMatchObject({
          "os2.managed": "true",
          "os2.installation": "inst_test",
          "os2.stage": stage,
        });
      expect(all.find((m) => m.externalId === createdA.externalId)).toMatchObject({
        labels: a.labels,
        state: "running",
      });

      const projectB = await provider.list({ "os2.project-id": `${runId}-p2` });
      expect(projectB.map((m) => m.externalId)).toEqual([createdB.externalId]);
      expect(await provider.list({ "os2.machine-id": a.machineId })).toHaveLength(1);

      // Stopped containers are listed too.
      await provider.stop(createdA.externalId);
      expect(await provider.list({ "os2.machine-id": a.machineId })).toMatchObject([{ state: "stopped" }]);

      // Another stage on the same engine sees none of this run's machines.
      const otherStage = new LocalDockerProvider({ dockerHost, imageName: fixtureTag, stage: `${stage}-other` });
      expect(await otherStage.list({})).toEqual([]);
    } finally {
      await Promise.all(strangers.map((c) => c.remove({ force: true })));
    }
  });

  test("start, stop, archive and delete are idempotent, and deleting a missing container succeeds", async () => {
    const { externalId } = await provider.create(machineInput());
    await provider.start(externalId);
    expect((await provider.inspect(externalId)).state).toBe("running");
    await waitForHealth((await provider.daemonEndpoint(externalId, 3000)).url);

    const stopStartedAt = Date.now();
    await provider.stop(externalId);
    expect(Date.now() - stopStartedAt).toBeLessThan(3_000); // SIGTERM is honoured, no wait for SIGKILL
    await provider.stop(externalId);
    const stopped = await provider.inspect(externalId);
    expect(stopped.state).toBe("stopped");
    expect(stopped.metadata.port).toBeNull();

    await provider.archive(externalId);
    await provider.archive(externalId);
    expect((await provider.inspect(externalId)).state).toBe("stopped");

    await provider.start(externalId);
    await provider.start(externalId);
    expect((await provider.inspect(externalId)).state).toBe("running");
    await provider.archive(externalId);
    expect((await provider.inspect(externalId)).state).toBe("stopped");

    await provider.delete(externalId);
    await provider.delete(externalId);
    expect((await provider.inspect(externalId)).state).toBe("missing");
    await provider.stop(externalId);
    await provider.archive(externalId);
    await expectProviderError(provider.start(externalId), "not_found");
  });

  test("inspect reports missing after the container is removed behind the provider's back", async () => {
    const { externalId } = await provider.create(machineInput());
    await docker.getContainer(externalId).remove({ force: true });
    expect(await provider.inspect(externalId)).toEqual({ state: "missing", metadata: {} });
    await expectProviderError(provider.daemonEndpoint(externalId, 3000), "not_found");
    expect(await provider.logs(externalId, { tail: 10 }).catch((e: unknown) => isProviderError(e, "not_found"))).toBe(
      true,
    );
  });

  test("the first endpoint lookup after a create uses the inspect the create ended with; later ones, and any after a stop, ask Docker", async () => {
    const { externalId } = await provider.create(machineInput());
    const engine = await (provider as unknown as { engine(): Promise<Dockerode> }).engine();
    const asked: string[] = [];
    const getContainer = engine.getContainer.bind(engine);
    engine.getContainer = (id: string) => {
      asked.push(id);
      return getContainer(id);
    };
    try {
      const first = await provider.daemonEndpoint(externalId, 3000);
      expect(asked).toEqual([]);
      expect(await provider.daemonEndpoint(externalId, 3000)).toEqual(first);
      expect(asked).toEqual([externalId]);
    } finally {
      engine.getContainer = getContainer;
    }
    // Stopped right after its create: the create's inspect (running) is not used.
    const stopped = await provider.create(machineInput());
    await provider.stop(stopped.externalId);
    await expectProviderError(provider.daemonEndpoint(stopped.externalId, 3000), "invalid_state");
  });

  test("daemonEndpoint follows the new host port after stop and start, and refuses while stopped", async () => {
    const { externalId, metadata } = await publishedOnly.create(machineInput());
    const before = await publishedOnly.daemonEndpoint(externalId, 3000);
    await waitForHealth(before.url); // a stop before node installed its SIGTERM handler would wait for SIGKILL
    expect(before.url).toBe(`http://127.0.0.1:${String(metadata.port)}`);

    await publishedOnly.stop(externalId);
    await expectProviderError(publishedOnly.daemonEndpoint(externalId, 3000), "invalid_state");
    await publishedOnly.start(externalId);

    const actualPort = Number(
      (await docker.getContainer(externalId).inspect()).NetworkSettings.Ports["3000/tcp"]?.[0]?.HostPort,
    );
    const after = await publishedOnly.daemonEndpoint(externalId, 3000);
    // Docker allocates host ports sequentially, so a restart never gets the previous port back right away.
    expect(after.url).not.toBe(before.url);
    expect(after.url).toBe(`http://127.0.0.1:${actualPort}`);
    expect((await publishedOnly.inspect(externalId)).metadata.port).toBe(actualPort);
    expect(await waitForHealth(after.url)).toMatchObject({ status: "ok" });
  });

  test("the bridge address is Docker's current record: after a restart, and with the container on other networks too", async () => {
    const probed: string[] = [];
    const counting = new LocalDockerProvider({
      dockerHost,
      imageName: fixtureTag,
      stage,
      addressProbe: (host, port, timeoutMs) => {
        probed.push(`${host}:${port}`);
        return probeTcp(host, port, timeoutMs);
      },
    });
    const { externalId } = await counting.create(machineInput());
    const addressNow = async () =>
      (await docker.getContainer(externalId).inspect()).NetworkSettings.Networks[DEFAULT_MACHINE_NETWORK]?.IPAddress;
    const first = await addressNow();
    for (let i = 0; i < 5; i++)
      expect((await counting.daemonEndpoint(externalId, 3000)).url).toBe(`http://${first}:3000`);
    // Decided once for the machine, not per lookup.
    expect(probed).toEqual([`${first}:3000`]);
    await waitForHealth(`http://${first}:3000`);

    // Connected to a second network as well (by anyone with access to Docker): os2 keeps to its own.
    await docker.getNetwork("bridge").connect({ Container: externalId });
    try {
      expect((await counting.daemonEndpoint(externalId, 3000)).url).toBe(`http://${first}:3000`);
    } finally {
      await docker.getNetwork("bridge").disconnect({ Container: externalId, Force: true });
    }

    await counting.stop(externalId);
    await expectProviderError(counting.daemonEndpoint(externalId, 3000), "invalid_state");
    await counting.start(externalId);
    const second = await addressNow();
    expect((await counting.daemonEndpoint(externalId, 3000)).url).toBe(`http://${second}:3000`);
    expect(await waitForHealth(`http://${second}:3000`)).toMatchObject({ status: "ok" });
  });

  test("a port outside 1–65535 is refused, naming the field, before Docker or the machine is asked", async () => {
    const probed: string[] = [];
    const counting = new LocalDockerProvider({
      dockerHost,
      imageName: fixtureTag,
      stage,
      addressProbe: async (host, port) => {
        probed.push(`${host}:${port}`);
        return "open";
      },
    });
    const { externalId } = await provider.create(machineInput());
    for (const port of [0, -1, 65536, 70000, 1.5, Number.NaN]) {
      await expect(counting.daemonEndpoint(externalId, port), String(port)).rejects.toThrow(
        /^port: must be an integer from 1 to 65535/,
      );
    }
    expect(probed).toEqual([]);
  });

  test("logs return stdout and stderr as demultiplexed text", async () => {
    const { externalId } = await provider.create(machineInput());
    await waitForHealth((await provider.daemonEndpoint(externalId, 3000)).url);
    const deadline = Date.now() + 5_000;
    let logs = "";
    while (Date.now() < deadline && !(logs.includes("fixture stdout ready") && logs.includes("fixture stderr ready"))) {
      logs = await provider.logs(externalId, { tail: 50 });
    }
    expect(logs).toContain("fixture stdout ready\n");
    expect(logs).toContain("fixture stderr ready\n");
    // eslint-disable-next-line no-control-regex -- matching terminal escapes and control bytes is the point
    expect(logs).not.toMatch(/[\u0000-\u0008]/); // no frame headers left in the text
  });

  test("create adopts the container an earlier attempt made for the same machine, and never one made for another", async () => {
    const input = machineInput();
    const first = await provider.create(input);
    const retry = await provider.create(input);
    expect(retry.externalId).toBe(first.externalId);
    expect(await containersOfMachine(input.machineId)).toHaveLength(1);

    // A stopped leftover (os2 crashed between create and start) is started on retry.
    await waitForHealth((await provider.daemonEndpoint(first.externalId, 3000)).url);
    await provider.stop(first.externalId);
    const afterCrash = await provider.create(input);
    expect(afterCrash.externalId).toBe(first.externalId);
    expect((await provider.inspect(first.externalId)).state).toBe("running");

    const squatter = machineInput();
    const foreign = await docker.createContainer({ Image: fixtureTag, name: `os2-${squatter.machineId}` });
    try {
      const error = await expectProviderError(provider.create(squatter), "invalid_state");
      expect(error.message).toContain(`docker rm -f os2-${squatter.machineId}`);
      expect((await foreign.inspect()).State.Status).toBe("created"); // untouched
    } finally {
      await foreign.remove({ force: true });
    }
  });

  test("a create that fails after the container was created leaves no container behind", async () => {
    const brokenProvider = new LocalDockerProvider({ dockerHost, imageName: brokenTag, stage });
    const input = machineInput();
    const error = await brokenProvider.create(input).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toContain("os2-no-such-binary");
    expect(await containersOfMachine(input.machineId)).toEqual([]);
  });

  test("an already aborted signal rejects create with the caller's reason and creates nothing", async () => {
    const input = machineInput({ signal: AbortSignal.abort(new Error("caller gave up")) });
    await expect(provider.create(input)).rejects.toThrow("caller gave up");
    expect(await containersOfMachine(input.machineId)).toEqual([]);
  });

  test("create fails at once with unreachable, naming DOCKER_HOST, when Docker does not answer", async () => {
    for (const unreachable of ["tcp://127.0.0.1:1", `unix:///tmp/${runId}-no-such.sock`]) {
      const offline = new LocalDockerProvider({ dockerHost: unreachable, imageName: fixtureTag, stage });
      const startedAt = Date.now();
      const error = await expectProviderError(offline.create(machineInput()), "unreachable");
      expect(Date.now() - startedAt).toBeLessThan(1_000);
      expect(error.message).toContain(`Docker not reachable at ${unreachable}`);
      expect(error.message).toContain("DOCKER_HOST");
      expect(error.message).toContain("tcp://127.0.0.1:2375");

      const availability = await offline.availability();
      expect(availability.available).toBe(false);
      expect(availability.available === false && availability.reason).toMatch(
        /^Docker not reachable at .*Set DOCKER_HOST or enable the Docker TCP API/,
      );
    }
  });

  test("a Docker endpoint that accepts connections but never answers times out instead of hanging", async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const address = silent.address();
    const port = typeof address === "object" && address ? address.port : 0;
    try {
      const hanging = new LocalDockerProvider({ dockerHost: `tcp://127.0.0.1:${port}`, imageName: fixtureTag, stage });
      const startedAt = Date.now();
      const availability = await hanging.availability();
      expect(Date.now() - startedAt).toBeLessThan(6_000);
      expect(availability).toMatchObject({ available: false });
      expect(availability.available === false && availability.reason).toContain("no answer within 4000 ms");

      const error = await expectProviderError(hanging.create(machineInput()), "timeout");
      expect(error.message).toContain("DOCKER_HOST");
      expect(Date.now() - startedAt).toBeLessThan(10_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test("a missing image makes create fail and availability false, both naming pnpm snapshot:local-docker", async () => {
    const imageName = `os2-no-such-image-${runId}:local`;
    const imageless = new LocalDockerProvider({ dockerHost, imageName, stage });
    const input = machineInput();
    const error = await expectProviderError(imageless.create(input), "unavailable");
    expect(error.message).toBe(`Image ${imageName} not found. Build it with: pnpm snapshot:local-docker`);
    expect(await imageless.availability()).toEqual({ available: false, reason: error.message });
    expect(await containersOfMachine(input.machineId)).toEqual([]);
  });

  test("availability is true when the engine answers and the image exists", async () => {
    expect(await provider.availability()).toEqual({ available: true });
  });

  test("resolveDockerHost prefers an explicit DOCKER_HOST and otherwise finds the running engine", async () => {
    expect(await resolveDockerHost("unix:///somewhere/docker.sock")).toBe("unix:///somewhere/docker.sock");
    const resolved = await resolveDockerHost(undefined);
    expect(["tcp://127.0.0.1:2375", "unix:///var/run/docker.sock"]).toContain(resolved);
    await new Dockerode(toDockerodeOptions(resolved)).ping();
  });
});
