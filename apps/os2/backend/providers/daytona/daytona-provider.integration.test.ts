/**
 * DaytonaProvider through the real `@daytonaio/sdk` against the local Daytona stand-in, whose sandboxes
 * are real containers of a small fixture image (daemon-like `/api/health` and a WebSocket echo on :3000).
 */
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";

import { type DaytonaStandin, STANDIN_LABEL, startDaytonaStandin } from "../../../test-support/daytona-standin";
import { ensureDaytonaFixtureImage } from "../../../test-support/daytona-standin/fixture-image";
import { TEST_LIMITS } from "../../testing/limits.ts";
import { isProviderError } from "../errors";
import type { MachineLabels } from "../types";
import { DaytonaProvider } from "./daytona-provider";
import { fetchThroughPreview } from "./preview-request";
import { InMemoryPreviewTokenStore } from "./preview-token-store";

const docker = new Dockerode({ host: "127.0.0.1", port: 2375 });
const API_KEY = "standin-test-key";
const runId = Math.random().toString(36).slice(2, 8);
const stage = `itest${runId}`;

let standin: DaytonaStandin;
let provider: DaytonaProvider;
let tokens: InMemoryPreviewTokenStore;
const created: string[] = [];

function labelsFor(machineId: string, projectId = `prj_${runId}`): MachineLabels {
  return {
    "os2.managed": "true",
    "os2.installation": "inst_test",
    "os2.machine-id": machineId,
    "os2.project-id": projectId,
    "os2.stage": stage,
  };
}

async function waitForHealth(externalId: string): Promise<Response> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const endpoint = await provider.daemonEndpoint(externalId, 3000);
    const response = await fetch(`${endpoint.url}/api/health`, { headers: endpoint.headers }).catch(() => null);
    if (response?.status === 200) return response;
    if (Date.now() > deadline)
      throw new Error(`daemon of ${externalId} never became healthy (last: ${response?.status})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  const image = await ensureDaytonaFixtureImage(docker);
  standin = await startDaytonaStandin({ docker, image, apiKey: API_KEY });
  standin.addSnapshot({ name: `${stage}--20260101-000000`, createdAt: new Date("2026-01-01T00:00:00Z") });
  standin.addSnapshot({ name: `${stage}--20260102-000000`, createdAt: new Date("2026-01-02T00:00:00Z") });
  // Newer, but still building: must not be chosen.
  standin.addSnapshot({
    name: `${stage}--20260103-000000`,
    createdAt: new Date("2026-01-03T00:00:00Z"),
    state: "building",
  });
  tokens = new InMemoryPreviewTokenStore();
  provider = new DaytonaProvider({
    apiKey: API_KEY,
    apiUrl: standin.apiUrl,
    snapshotPrefix: `${stage}--`,
    autoStopMinutes: 30,
    stage,
    previewTokenStore: tokens,
    operationTimeoutSeconds: 60,
  });
});

afterAll(async () => {
  for (const id of created) await provider?.delete(id).catch(() => undefined);
  await standin?.close();
});

describe("DaytonaProvider against the Daytona stand-in", () => {
  let machine = "";

  it("creates a sandbox from the newest active snapshot of the stage, with os2 labels, env and auto-stop", async () => {
    const result = await provider.create({
      machineId: `mach_${runId}a`,
      name: "first",
      envVars: { OS2_MACHINE_ID: `mach_${runId}a`, GREETING: "hello" },
      labels: labelsFor(`mach_${runId}a`),
      limits: TEST_LIMITS,
      profile: "standard",
    });
    machine = result.externalId;
    created.push(machine);
    expect(result.metadata.snapshotName).toBe(`${stage}--20260102-000000`);

    const sandbox = standin.sandbox(machine);
    expect(sandbox).toMatchObject({
      snapshot: `${stage}--20260102-000000`,
      autoStopInterval: 30,
      public: false,
      labels: expect.objectContaining(labelsFor(`mach_${runId}a`)),
      env: { OS2_MACHINE_ID: `mach_${runId}a`, GREETING: "hello" },
    });
    const containerId = standin.containerId(machine);
    if (!containerId) throw new Error("stand-in has no container for the sandbox");
    const info = await docker.getContainer(containerId).inspect();
    expect(info.Config.Env).toEqual(expect.arrayContaining([`OS2_MACHINE_ID=mach_${runId}a`, "GREETING=hello"]));
    expect(info.State.Running).toBe(true);
    // The container carries only the stand-in's label, never os2.* (those are on the Daytona sandbox).
    expect(Object.keys(info.Config.Labels).some((key) => key.startsWith("os2.managed"))).toBe(false);
    expect(info.Config.Labels[STANDIN_LABEL]).toBeTruthy();

    const inspected = await provider.inspect(machine);
    expect(inspected.state).toBe("running");
    expect(inspected.metadata.snapshotName).toBe(`${stage}--20260102-000000`);
  });

  it("reaches the daemon's /api/health through the preview proxy with the token, and gets 401 without it", async () => {
    const health = await waitForHealth(machine);
    expect(await health.json()).toMatchObject({ ok: true, machineId: `mach_${runId}a` });

    const endpoint = await provider.daemonEndpoint(machine, 3000);
    expect(endpoint.headers["x-daytona-preview-token"]).toBeTruthy();
    expect(endpoint.headers["X-Daytona-Skip-Preview-Warning"]).toBe("true");
    const withoutToken = await fetch(`${endpoint.url}/api/health`);
    expect(withoutToken.status).toBe(401);
    const wrongToken = await fetch(`${endpoint.url}/api/health`, { headers: { "x-daytona-preview-token": "nope" } });
    expect(wrongToken.status).toBe(401);
  });

  it("serves the preview token from the store after the first fetch", async () => {
    const before = standin.requests.filter((r) => r.path.includes("/preview-url")).length;
    await provider.daemonEndpoint(machine, 3000);
    await provider.daemonEndpoint(machine, 3000);
    expect(standin.requests.filter((r) => r.path.includes("/preview-url")).length).toBe(before);
  });

  it("after Daytona rotates the token, a request refreshes it once and succeeds", async () => {
    const stale = (await tokens.get(machine, 3000))?.token;
    const fresh = standin.rotatePreviewToken(machine, 3000);
    expect(fresh).not.toBe(stale);
    const response = await fetchThroughPreview({
      source: provider,
      externalId: machine,
      port: 3000,
      path: "/api/health",
    });
    expect(response.status).toBe(200);
    expect((await tokens.get(machine, 3000))?.token).toBe(fresh);
  });

  it("carries a WebSocket through the preview proxy", async () => {
    const endpoint = await provider.daemonEndpoint(machine, 3000);
    const socket = new WebSocket(`${endpoint.url.replace(/^http/, "ws")}/ws`, { headers: endpoint.headers });
    const reply = await new Promise<string>((resolve, reject) => {
      socket.on("open", () => socket.send("ping"));
      socket.on("message", (data: Buffer) => resolve(data.toString("utf8")));
      socket.on("error", reject);
    });
    socket.close();
    expect(reply).toBe("echo:ping");
  });

  it("refuses a WebSocket without the token", async () => {
    const endpoint = await provider.daemonEndpoint(machine, 3000);
    const socket = new WebSocket(`${endpoint.url.replace(/^http/, "ws")}/ws`);
    const status = await new Promise<number>((resolve) => {
      socket.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      socket.on("error", () => resolve(-1));
    });
    expect(status).toBe(401);
  });

  it("stops idempotently", async () => {
    await provider.stop(machine);
    await provider.stop(machine);
    expect((await provider.inspect(machine)).state).toBe("stopped");
    const containerId = standin.containerId(machine) ?? "";
    expect((await docker.getContainer(containerId).inspect()).State.Running).toBe(false);
  });

  it("starts idempotently and the daemon answers again", async () => {
    await provider.start(machine);
    await provider.start(machine);
    expect((await provider.inspect(machine)).state).toBe("running");
    await waitForHealth(machine);
  });

  it("archives a running sandbox (stopping it first) idempotently, and starts it again from the archive", async () => {
    await provider.archive(machine);
    await provider.archive(machine);
    expect((await provider.inspect(machine)).state).toBe("archived");
    await provider.start(machine);
    expect((await provider.inspect(machine)).state).toBe("running");
    await waitForHealth(machine);
  });

  it("lists sandboxes by os2 labels", async () => {
    const other = await provider.create({
      machineId: `mach_${runId}b`,
      name: "second",
      envVars: {},
      labels: labelsFor(`mach_${runId}b`, `prj_${runId}other`),
      limits: TEST_LIMITS,
      profile: "standard",
    });
    created.push(other.externalId);

    const all = await provider.list({ "os2.managed": "true", "os2.installation": "inst_test", "os2.stage": stage });
    expect(all.map((m) => m.externalId).sort()).toEqual([machine, other.externalId].sort());
    const firstProject = await provider.list({ "os2.project-id": `prj_${runId}` });
    expect(firstProject).toEqual([
      expect.objectContaining({
        externalId: machine,
        state: "running",
        labels: expect.objectContaining(labelsFor(`mach_${runId}a`)),
      }),
    ]);
    expect(await provider.list({ "os2.stage": "some-other-stage" })).toEqual([]);
  });

  it("deletes idempotently: a second delete and a delete of an unknown id succeed", async () => {
    await provider.delete(machine);
    await provider.delete(machine);
    await provider.delete("00000000-0000-4000-8000-000000000000");
    await expect.poll(async () => (await provider.inspect(machine)).state, { timeout: 10_000 }).toBe("missing");
    expect(await tokens.get(machine, 3000)).toBeNull();
    expect((await provider.list({ "os2.project-id": `prj_${runId}` })).length).toBe(0);
  });

  it("reports not_found when starting a sandbox that does not exist", async () => {
    const error = await provider.start("00000000-0000-4000-8000-000000000000").catch((e: unknown) => e);
    expect(isProviderError(error, "not_found")).toBe(true);
  });
});

describe("DaytonaProvider create failures", () => {
  it("removes a sandbox that was created but never started, so no orphan is left", async () => {
    standin.addSnapshot({ name: `${stage}broken--20260101-000000`, imageName: "os2-test-no-such-image:missing" });
    const broken = new DaytonaProvider({
      apiKey: API_KEY,
      apiUrl: standin.apiUrl,
      snapshotPrefix: `${stage}broken--`,
      autoStopMinutes: 30,
      stage,
    });
    const machineId = `mach_${runId}broken`;
    const error = await broken
      .create({
        machineId,
        name: "broken",
        envVars: {},
        labels: labelsFor(machineId),
        limits: TEST_LIMITS,
        profile: "standard",
      })
      .catch((e: unknown) => e);
    expect(isProviderError(error)).toBe(true);
    expect(String(error)).toMatch(/failed to start/i);
    await expect
      .poll(async () => (await broken.list({ "os2.machine-id": machineId })).length, { timeout: 10_000 })
      .toBe(0);
  });
});

describe("DaytonaProvider availability", () => {
  it("is available when the API answers and a snapshot exists", async () => {
    expect(await provider.availability()).toEqual({ available: true });
  });

  it("explains that a snapshot is missing and how to make one", async () => {
    const noSnapshot = new DaytonaProvider({
      apiKey: API_KEY,
      apiUrl: standin.apiUrl,
      snapshotPrefix: "nothing-here--",
      autoStopMinutes: 30,
      stage: "nothing-here",
    });
    const availability = await noSnapshot.availability();
    expect(availability.available).toBe(false);
    if (!availability.available) expect(availability.reason).toContain("pnpm snapshot:daytona");
  });

  it("is unavailable when the API does not answer", async () => {
    const unreachable = new DaytonaProvider({
      apiKey: API_KEY,
      apiUrl: "http://127.0.0.1:9/api",
      snapshotPrefix: `${stage}--`,
      autoStopMinutes: 30,
      stage,
    });
    const availability = await unreachable.availability();
    // Not answering is a fault that may pass (os2 answers 503), not a set-up problem.
    expect(availability).toEqual({
      available: false,
      reason: expect.stringMatching(/unreachable/i),
      unreachable: true,
    });
  });

  it("is unavailable with a wrong API key, naming DAYTONA_API_KEY", async () => {
    const wrongKey = new DaytonaProvider({
      apiKey: "wrong",
      apiUrl: standin.apiUrl,
      snapshotPrefix: `${stage}--`,
      autoStopMinutes: 30,
      stage,
    });
    const availability = await wrongKey.availability();
    expect(availability).toEqual({ available: false, reason: expect.stringContaining("DAYTONA_API_KEY") });
  });
});
