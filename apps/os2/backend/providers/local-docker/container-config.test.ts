import { describe, expect, test } from "vitest";

import {
  buildContainerSpec,
  containerNameFor,
  readPublishedPorts,
  toEnvArray,
  toProviderState,
} from "./container-config";

const labels = {
  "os2.managed": "true",
  "os2.installation": "inst_test",
  "os2.machine-id": "mach_1",
  "os2.project-id": "proj_1",
  "os2.stage": "dev",
} as const;

describe("toEnvArray", () => {
  test("turns env into KEY=value strings and strips C0 control characters and DEL from values", () => {
    expect(toEnvArray({ A: "1", B_2: "x=y", _C: "a\u0000b\r\nc\td\u001fe\u007ff", EMPTY: "" })).toEqual({
      ok: true,
      env: ["A=1", "B_2=x=y", "_C=abcdef", "EMPTY="],
    });
  });

  test("rejects every name that is not a portable shell identifier", () => {
    expect(toEnvArray({ GOOD: "1", "BAD-NAME": "x", "1X": "x", "A=B": "x", "": "x", É: "x" })).toEqual({
      ok: false,
      invalidNames: ["BAD-NAME", "1X", "A=B", "", "É"],
    });
  });
});

const isolation = {
  limits: { cpuMillis: 1500, memoryMb: 2048, pids: 512, diskMb: 10_240 },
  profile: "standard",
  network: "os2-machines",
  runtime: "runc",
  diskQuota: false,
} as const;

describe("buildContainerSpec", () => {
  test("runs as the unprivileged user, within CPU, memory (no swap) and process limits, on the os2 network", () => {
    const spec = buildContainerSpec({
      machineId: "mach_1",
      labels,
      env: [],
      imageId: "sha256:abc",
      ports: [3000],
      ...isolation,
    });
    expect(spec.User).toBe("1000:1000");
    expect(spec.HostConfig).toMatchObject({
      NanoCpus: 1_500_000_000,
      Memory: 2048 * 1024 * 1024,
      MemorySwap: 2048 * 1024 * 1024,
      PidsLimit: 512,
      NetworkMode: "os2-machines",
      CapDrop: ["ALL"],
    });
    // No disk quota where the storage driver has none, and Docker's default runtime is left alone.
    expect(spec.HostConfig).not.toHaveProperty("StorageOpt");
    expect(spec.HostConfig).not.toHaveProperty("Runtime");
  });

  test("never keeps NET_RAW, NET_ADMIN or SYS_ADMIN; strict keeps nothing and sets no-new-privileges", () => {
    const standard = buildContainerSpec({ machineId: "m", labels, env: [], imageId: "i", ports: [], ...isolation });
    const strict = buildContainerSpec({
      machineId: "m",
      labels,
      env: [],
      imageId: "i",
      ports: [],
      ...isolation,
      profile: "strict",
    });
    for (const spec of [standard, strict]) {
      for (const dangerous of ["NET_RAW", "NET_ADMIN", "SYS_ADMIN"])
        expect(spec.HostConfig?.CapAdd).not.toContain(dangerous);
    }
    expect(standard.HostConfig?.CapAdd).toContain("SETUID");
    expect(standard.HostConfig?.SecurityOpt).toEqual([]);
    expect(strict.HostConfig?.CapAdd).toEqual([]);
    expect(strict.HostConfig?.SecurityOpt).toEqual(["no-new-privileges:true"]);
  });

  test("asks for a disk quota and another runtime only when told to", () => {
    const spec = buildContainerSpec({
      machineId: "m",
      labels,
      env: [],
      imageId: "i",
      ports: [],
      ...isolation,
      diskQuota: true,
      runtime: "runsc",
    });
    expect(spec.HostConfig).toMatchObject({ StorageOpt: { size: "10240M" }, Runtime: "runsc" });
  });

  test("publishes every port on 127.0.0.1 with a Docker-chosen host port and never restarts on its own", () => {
    const spec = buildContainerSpec({
      machineId: "mach_1",
      labels,
      env: ["A=1"],
      imageId: "sha256:abc",
      ports: [3000, 8080],
      ...isolation,
    });
    expect(spec).toMatchObject({
      name: "os2-mach_1",
      Image: "sha256:abc",
      Env: ["A=1"],
      Labels: labels,
      ExposedPorts: { "3000/tcp": {}, "8080/tcp": {} },
      HostConfig: {
        PortBindings: {
          "3000/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }],
          "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }],
        },
        RestartPolicy: { Name: "no" },
      },
    });
  });
});

test("containerNameFor keeps container names within Docker's alphabet", () => {
  expect(containerNameFor("mach_01h2x")).toBe("os2-mach_01h2x");
  expect(containerNameFor("a/b c:d")).toBe("os2-a-b-c-d");
});

test("readPublishedPorts reads the loopback host port of each published tcp port and skips unpublished ones", () => {
  expect(
    readPublishedPorts({
      "3000/tcp": [{ HostIp: "127.0.0.1", HostPort: "49153" }],
      "8080/tcp": [
        { HostIp: "0.0.0.0", HostPort: "49160" },
        { HostIp: "127.0.0.1", HostPort: "49154" },
      ],
      "9000/tcp": null as unknown as [],
      "53/udp": [{ HostIp: "127.0.0.1", HostPort: "49155" }],
    }),
  ).toEqual({ 3000: 49153, 8080: 49154 });
  expect(readPublishedPorts(undefined)).toEqual({});
});

test("toProviderState maps Docker statuses, treating crashes as error and never-started containers as stopped", () => {
  const state = (Status: string, extra: { OOMKilled?: boolean; Error?: string } = {}) =>
    toProviderState({ Status, OOMKilled: extra.OOMKilled ?? false, Error: extra.Error ?? "" });
  expect(state("running")).toBe("running");
  expect(state("restarting")).toBe("starting");
  expect(state("created")).toBe("stopped");
  expect(state("paused")).toBe("stopped");
  expect(state("exited")).toBe("stopped");
  expect(state("exited", { OOMKilled: true })).toBe("error");
  expect(state("exited", { Error: "OCI runtime create failed" })).toBe("error");
  expect(state("removing")).toBe("deleting");
  expect(state("dead")).toBe("error");
  expect(state("something-new")).toBe("error");
});
