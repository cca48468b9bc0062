/**
 * `pnpm snapshot:daytona`'s build path through the real SDK against the stand-in: Image.fromDockerfile,
 * the context upload to S3 (s3rver), POST /snapshots with buildInfo, a real Docker build, the build log
 * streamed back through build-logs-url?follow=true, and then a machine booted from the new snapshot.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { DaytonaProvider } from "../../backend/providers/daytona/daytona-provider";
import { TEST_LIMITS } from "../../backend/testing/limits.ts";
import { buildDaytonaSnapshot, daytonaResources } from "../../sandbox/daytona-snapshot";
import { ensureDaytonaFixtureImage } from "./fixture-image";
import { type DaytonaStandin, startDaytonaStandin } from "./index";

const docker = new Dockerode({ host: "127.0.0.1", port: 2375 });
const API_KEY = "standin-snapshot-key";
const stage = `snap${Math.random().toString(36).slice(2, 8)}`;

let standin: DaytonaStandin;
let fixtureImage: string;
let workDir: string;
const machines: Array<{ provider: DaytonaProvider; id: string }> = [];

/** A repo-like context: the Dockerfile lives in a subfolder, COPY paths are relative to the root. */
async function writeContext(dockerfile: string): Promise<{ contextDir: string; dockerfilePath: string }> {
  const contextDir = await mkdtemp(join(workDir, "ctx-"));
  await mkdir(join(contextDir, "app/node_modules"), { recursive: true });
  await mkdir(join(contextDir, "docker"), { recursive: true });
  await writeFile(join(contextDir, ".dockerignore"), "**/node_modules\n");
  await writeFile(join(contextDir, "app/hello.txt"), "hello-from-context");
  await writeFile(join(contextDir, "app/node_modules/junk.txt"), "must not be uploaded");
  const dockerfilePath = join(contextDir, "docker/Dockerfile");
  await writeFile(dockerfilePath, dockerfile);
  return { contextDir, dockerfilePath };
}

beforeAll(async () => {
  fixtureImage = await ensureDaytonaFixtureImage(docker);
  standin = await startDaytonaStandin({ docker, image: fixtureImage, apiKey: API_KEY });
  workDir = await mkdtemp(join(tmpdir(), "daytona-snapshot-test-"));
});

afterAll(async () => {
  for (const { provider, id } of machines) await provider.delete(id).catch(() => undefined);
  await standin?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("snapshot build through the SDK", () => {
  it("uploads the context, builds the Dockerfile, streams the real build log and names the snapshot", async () => {
    const { contextDir, dockerfilePath } = await writeContext(
      `FROM ${fixtureImage}\nCOPY app/ /app/\nRUN echo "marker:$(cat /app/hello.txt)" && test ! -e /app/node_modules\n`,
    );
    const logs: string[] = [];
    const { name } = await buildDaytonaSnapshot({
      apiKey: API_KEY,
      apiUrl: standin.apiUrl,
      stage,
      dockerfilePath,
      contextDir,
      now: new Date("2026-01-02T03:04:05Z"),
      resources: daytonaResources({
        OS2_MACHINE_CPUS: 1500,
        OS2_MACHINE_MEMORY: 3 * 1024,
        OS2_MACHINE_DISK: 20 * 1024,
      }),
      onLogs: (chunk) => logs.push(chunk),
    });
    expect(name).toBe(`${stage}--20260102-030405`);
    // os2's machine limits become the snapshot's resources, in Daytona's units (whole cores, GiB).
    const snapshot = (await (
      await fetch(`${standin.apiUrl}/snapshots/${name}`, { headers: { authorization: `Bearer ${API_KEY}` } })
    ).json()) as { cpu: number; mem: number; disk: number };
    expect(snapshot).toMatchObject({ cpu: 2, mem: 3, disk: 20 });
    const log = logs.join("\n");
    expect(log).toContain("marker:hello-from-context");
    expect(log).toContain(`Created snapshot ${name} (active)`);
    const paths = standin.requests.map((r) => `${r.method} ${r.path.split("?")[0]}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        "GET /api/object-storage/push-access",
        "POST /api/snapshots",
        expect.stringMatching(/build-logs-url$/),
      ]),
    );
  });

  it("boots a machine from the snapshot it just built (the resolver picks the newest)", async () => {
    const provider = new DaytonaProvider({
      apiKey: API_KEY,
      apiUrl: standin.apiUrl,
      snapshotPrefix: `${stage}--`,
      autoStopMinutes: 0,
      stage,
    });
    const created = await provider.create({
      machineId: "mach_snap",
      name: "from-snapshot",
      envVars: { OS2_MACHINE_ID: "mach_snap" },
      limits: TEST_LIMITS,
      profile: "standard",
      labels: {
        "os2.managed": "true",
        "os2.installation": "inst_test",
        "os2.machine-id": "mach_snap",
        "os2.project-id": "prj_snap",
        "os2.stage": stage,
      },
    });
    machines.push({ provider, id: created.externalId });
    expect(created.metadata.snapshotName).toBe(`${stage}--20260102-030405`);
    await expect
      .poll(
        async () => {
          const endpoint = await provider.daemonEndpoint(created.externalId, 3000);
          const response = await fetch(`${endpoint.url}/api/health`, { headers: endpoint.headers }).catch(() => null);
          return response?.status;
        },
        { timeout: 20_000, interval: 200 },
      )
      .toBe(200);
  });

  it("fails with Daytona's reason when the build fails, after streaming the failing step's output", async () => {
    const { contextDir, dockerfilePath } = await writeContext(
      `FROM ${fixtureImage}\nRUN echo "about to fail" && exit 3\n`,
    );
    const logs: string[] = [];
    const error = await buildDaytonaSnapshot({
      apiKey: API_KEY,
      apiUrl: standin.apiUrl,
      stage: `${stage}-bad`,
      dockerfilePath,
      contextDir,
      onLogs: (chunk) => logs.push(chunk),
    }).catch((e: unknown) => e);
    expect(String(error)).toMatch(/Failed to create snapshot.*non-zero code: 3/);
    expect(logs.join("\n")).toContain("about to fail");
  });
});
