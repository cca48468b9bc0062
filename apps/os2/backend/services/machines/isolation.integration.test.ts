/**
 * Machine isolation on a real Docker Engine with the real image: a machine is a bounded, private box. It
 * runs as a normal user with dropped capabilities, within CPU, memory and process limits, on a network
 * where it cannot reach another machine or the host's services, and everything a user does still works
 * inside. Network probes only ever target containers this test made, with short, bounded attempts.
 */
import type { ExecResult } from "@os2/protocol";
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestOs2, DASHBOARD_ORIGIN, type TestOs2 } from "../../testing/harness.ts";
import {
  containersOfStage,
  docker,
  openTerminal,
  removeContainersOfStage,
  setUpProject,
  waitForObservedState,
} from "../../testing/machine-fixtures.ts";

const IMAGE = process.env.LOCAL_DOCKER_IMAGE_NAME ?? "iterate-sandbox:local";
const NETWORK = `os2-test-${Math.random().toString(36).slice(2, 8)}`;

type Fixture = Awaited<ReturnType<typeof setUpProject>>;

// The machine's own cgroup, as cgroup v2 (one tree) or v1 (one tree per controller) shows it inside.
const PIDS_MAX = "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max";
const OOM_KILLS =
  "grep -h '^oom_kill ' /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control 2>/dev/null | head -1";

/** A real os2 whose local-docker machines join this test's own network (created on first use). */
function startOs2(env: Record<string, string>) {
  return createTestOs2({ env: { LOCAL_DOCKER_IMAGE_NAME: IMAGE, OS2_MACHINE_NETWORK: NETWORK, ...env } });
}

describe("machine isolation", () => {
  let t: TestOs2;
  let fx: Fixture;
  let base: string;

  beforeAll(async () => {
    t = await startOs2({});
    fx = await setUpProject(t, "isolation+test@example.com");
    base = await t.listen();
  });
  afterAll(async () => {
    const stage = t?.os2.deps.stage;
    await t?.close();
    if (stage) await removeContainersOfStage(stage);
    await docker
      .getNetwork(NETWORK)
      .remove()
      .catch(() => undefined);
  });

  const byId = (f: Fixture, machineId: string) => () => f.api.machine.byId.query({ ...f.scope, machineId });

  async function createRunning(f: Fixture, name: string, limits?: { cpus?: number; memoryMb?: number; pids?: number }) {
    const created = await f.api.machine.create.mutate({
      ...f.scope,
      name,
      type: "local-docker",
      ...(limits ? { limits } : {}),
    });
    await waitForObservedState(byId(f, created.id), "running");
    return { ...(await byId(f, created.id)()), id: created.id };
  }

  function exec(
    f: Fixture,
    machineId: string,
    command: string,
    timeoutMs = 30_000,
    server = base,
  ): Promise<ExecResult> {
    return fetch(`${server}/org/${f.org.slug}/proj/${f.project.slug}/${machineId}/proxy/3000/api/exec`, {
      method: "POST",
      headers: { cookie: f.cookie, origin: DASHBOARD_ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ command: "bash", args: ["-c", command], timeoutMs }),
    }).then(async (response) => {
      if (!response.ok) throw new Error(`exec answered ${response.status}: ${await response.text()}`);
      return (await response.json()) as ExecResult;
    });
  }

  async function healthStatus(f: Fixture, machineId: string, timeoutMs = 2_000): Promise<number> {
    return fetch(`${base}/org/${f.org.slug}/proj/${f.project.slug}/${machineId}/proxy/3000/api/health`, {
      headers: { cookie: f.cookie },
      signal: AbortSignal.timeout(timeoutMs),
    })
      .then((response) => response.status)
      .catch(() => 0);
  }

  const inspect = async (externalId: string | null) => docker.getContainer(externalId ?? "").inspect();

  it("runs a machine as a non-root user, within its limits, with dropped capabilities, on the os2 network", async () => {
    const machine = await createRunning(fx, "hardened", { cpus: 1.5, memoryMb: 1536, pids: 700 });
    const info = await inspect(machine.externalId);
    expect(info.Config.User).toBe("1000:1000");
    expect(info.HostConfig.NanoCpus).toBe(1_500_000_000);
    expect(info.HostConfig.Memory).toBe(1536 * 1024 * 1024);
    expect(info.HostConfig.MemorySwap).toBe(1536 * 1024 * 1024);
    expect(info.HostConfig.PidsLimit).toBe(700);
    expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
    for (const capability of ["NET_RAW", "NET_ADMIN", "SYS_ADMIN"]) {
      expect(info.HostConfig.CapAdd ?? []).not.toContain(capability);
      expect(info.HostConfig.CapAdd ?? []).not.toContain(`CAP_${capability}`);
    }
    // Docker's default seccomp profile is on: nothing asked for `seccomp=unconfined`.
    expect((info.HostConfig.SecurityOpt ?? []).join(" ")).not.toMatch(/seccomp[=:]unconfined/);
    expect(info.HostConfig.NetworkMode).toBe(NETWORK);
    for (const bindings of Object.values(info.HostConfig.PortBindings ?? {})) {
      for (const binding of bindings as Array<{ HostIp: string }>) expect(binding.HostIp).toBe("127.0.0.1");
    }
    const network = await docker.getNetwork(NETWORK).inspect();
    expect(network.Options?.["com.docker.network.bridge.enable_icc"]).toBe("false");

    // Inside: the daemon, commands and terminals run as os2; standard machines may sudo.
    const inside = await exec(fx, machine.id, `id -un; id -u; ${PIDS_MAX}; sudo -n true && echo sudo-ok`);
    expect(inside.stdout.split("\n")).toEqual(["os2", "1000", "700", "sudo-ok", ""]);
    const shown = await fx.api.machine.byId.query({ ...fx.scope, machineId: machine.id });
    expect(shown).toMatchObject({ cpuMillis: 1500, memoryMb: 1536, pids: 700, profile: "standard" });
    await fx.api.machine.delete.mutate({ ...fx.scope, machineId: machine.id });
  });

  it("refuses limits above the organization's maximum, naming the field", async () => {
    const error = await fx.api.machine.create
      .mutate({ ...fx.scope, name: "greedy", type: "local-docker", limits: { memoryMb: 64 * 1024 } })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<never>).message).toMatch(/memoryMb: at most 8 GiB per machine/);
  });

  it("keeps other machines answering through a fork bomb in one, which recovers once it ends", async () => {
    const [bombed, neighbour] = await Promise.all([
      createRunning(fx, "bombed", { cpus: 1, pids: 256 }),
      createRunning(fx, "neighbour"),
    ]);
    // The daemon's exec kills the command's whole process group at its timeout, bomb included.
    const bomb = exec(fx, bombed.id, ":(){ :|:& };:", 6_000).catch((error: unknown) => error);
    const started = Date.now();
    const neighbourAnswers: number[] = [];
    while (Date.now() - started < 6_000) {
      neighbourAnswers.push(await healthStatus(fx, neighbour.id));
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(neighbourAnswers.length).toBeGreaterThan(5);
    expect(neighbourAnswers.every((status) => status === 200)).toBe(true);
    await bomb;
    await expect.poll(() => healthStatus(fx, bombed.id), { timeout: 30_000, interval: 500 }).toBe(200);
    const after = await exec(fx, bombed.id, "echo alive");
    expect(after.stdout).toBe("alive\n");
    await Promise.all(
      [bombed, neighbour].map((machine) => fx.api.machine.delete.mutate({ ...fx.scope, machineId: machine.id })),
    );
  });

  it("kills a process that allocates past the memory limit, and the daemon answers afterwards", async () => {
    const machine = await createRunning(fx, "hungry", { memoryMb: 256 });
    // A leak, not a burst: 4 MiB every 40 ms, so the daemon's once-a-second look sees who is growing.
    const leak = "exec node -e 'const a=[];setInterval(()=>a.push(Buffer.alloc(4<<20,1)),40)'";
    const result = await exec(fx, machine.id, leak, 60_000);
    expect(result.exitCode === 137 || result.signal === "SIGKILL").toBe(true);
    expect(await healthStatus(fx, machine.id)).toBe(200);
    const oomKills = await exec(fx, machine.id, OOM_KILLS);
    expect(oomKills.stdout).toMatch(/oom_kill [1-9]/);
    // The reconciler's next look turns the kill the daemon saw into a machine event that names the process.
    await expect
      .poll(
        async () => {
          await t.os2.reconciler.reconcileOnce();
          const events = await fx.api.machine.events.query({ ...fx.scope, machineId: machine.id });
          return events.map((event) => event.detail);
        },
        { timeout: 15_000, interval: 1_000 },
      )
      .toContain("out of memory: node");

    // Seen once, recorded once.
    await t.os2.reconciler.reconcileOnce();
    const events = await fx.api.machine.events.query({ ...fx.scope, machineId: machine.id });
    expect(events.filter((event) => event.detail === "out of memory: node")).toHaveLength(1);
    await fx.api.machine.delete.mutate({ ...fx.scope, machineId: machine.id });
  });

  it("cannot open a TCP connection to another machine's address, nor to the host's Docker API or os2", async () => {
    const [a, b] = await Promise.all([createRunning(fx, "net-a"), createRunning(fx, "net-b")]);
    const bInfo = await inspect(b.externalId);
    const bAddress = bInfo.NetworkSettings.Networks[NETWORK]?.IPAddress;
    const gateway = bInfo.NetworkSettings.Networks[NETWORK]?.Gateway;
    expect(bAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const probe = (host: string, port: number) =>
      `node -e 'const s=require("net").connect(${port},"${host}");s.setTimeout(1500);` +
      `s.on("connect",()=>{console.log("open");process.exit(0)});` +
      `s.on("timeout",()=>{console.log("timeout");process.exit(1)});s.on("error",e=>{console.log(e.code);process.exit(1)})'`;
    // A positive control: the probe itself works, against the machine's own daemon.
    expect((await exec(fx, a.id, probe("127.0.0.1", 3000))).stdout.trim()).toBe("open");
    expect((await exec(fx, a.id, probe(bAddress ?? "", 3000))).stdout.trim()).not.toBe("open");
    const serverPort = Number(new URL(base).port);
    for (const port of [2375, serverPort]) {
      expect((await exec(fx, a.id, probe(gateway ?? "", port))).stdout.trim(), `gateway:${port}`).not.toBe("open");
    }
    await Promise.all([a, b].map((machine) => fx.api.machine.delete.mutate({ ...fx.scope, machineId: machine.id })));
  });

  it("still does everything as the non-root user: terminal, pnpm install, git commit, an agent, a preview", async () => {
    const machine = await createRunning(fx, "works");
    const terminal = await openTerminal(
      `${base.replace(/^http/, "ws")}/org/${fx.org.slug}/proj/${fx.project.slug}/${machine.id}/proxy/3000/api/pty/ws?cols=80&rows=24&tmuxSession=main`,
      { cookie: fx.cookie, origin: DASHBOARD_ORIGIN },
    );
    terminal.type("echo terminal-is-$(whoami)\r");
    await expect.poll(terminal.screen, { timeout: 15_000 }).toContain("terminal-is-os2");
    terminal.close();

    const install = await exec(
      fx,
      machine.id,
      'cd /workspace && mkdir -p app && cd app && echo \'{"name":"app","private":true}\' > package.json && pnpm add is-number@7 >/dev/null && node -e \'console.log(require("is-number")(5))\'',
      120_000,
    );
    expect(install.stdout.trim(), install.stderr).toBe("true");

    const git = await exec(
      fx,
      machine.id,
      "cd /workspace/app && git init -q && git add -A && git commit -qm first && git log --format=%an:%s",
    );
    expect(git.stdout.trim(), git.stderr).toBe("iterate-bot:first");

    const proxy = `${base}/org/${fx.org.slug}/proj/${fx.project.slug}/${machine.id}/proxy/3000`;
    const agent = await fetch(`${proxy}/api/agents`, {
      method: "POST",
      headers: { cookie: fx.cookie, origin: DASHBOARD_ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ harness: "shell", prompt: "echo agent-is-$(whoami)" }),
    });
    expect(agent.status).toBe(201);
    const { id } = (await agent.json()) as { id: string };
    await expect
      .poll(
        async () =>
          (
            (await (await fetch(`${proxy}/api/agents/${id}/output`, { headers: { cookie: fx.cookie } })).json()) as {
              text: string;
            }
          ).text,
        { timeout: 15_000 },
      )
      .toContain("agent-is-os2");

    // A dev server started by the user, seen through its preview origin.
    await exec(
      fx,
      machine.id,
      '(cd /tmp && setsid node -e \'require("http").createServer((q,s)=>s.end("served-by-"+process.getuid())).listen(8080)\' >/dev/null 2>&1 </dev/null &)',
    );
    const token = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "works-preview" });
    const previewHost = new URL(t.os2.previewOrigin.urlFor(machine.id, 8080)).host;
    const served = async () => {
      const { request } = await import("node:http");
      return new Promise<string>((resolve) => {
        const url = new URL(base);
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: "/",
            headers: { host: previewHost, authorization: `Bearer ${token.token}` },
          },
          (res) => {
            let body = "";
            res.on("data", (chunk: Buffer) => (body += chunk.toString()));
            res.on("end", () => resolve(body));
          },
        );
        req.on("error", () => resolve(""));
        req.end();
      });
    };
    await expect.poll(served, { timeout: 15_000 }).toBe("served-by-1000");
    await fx.api.machine.delete.mutate({ ...fx.scope, machineId: machine.id });
  });
});

describe("strict isolation profile", () => {
  let t: TestOs2;
  let fx: Fixture;
  let base: string;

  beforeAll(async () => {
    t = await startOs2({ OS2_MACHINE_PROFILE: "strict" });
    fx = await setUpProject(t, "strict+test@example.com");
    base = await t.listen();
  });
  afterAll(async () => {
    const stage = t?.os2.deps.stage;
    await t?.close();
    if (stage) await removeContainersOfStage(stage);
  });

  it("keeps no capabilities, sets no-new-privileges, and sudo cannot become root", async () => {
    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "strict", type: "local-docker" });
    await waitForObservedState(() => fx.api.machine.byId.query({ ...fx.scope, machineId: created.id }), "running");
    const machine = await fx.api.machine.byId.query({ ...fx.scope, machineId: created.id });
    const info = await docker.getContainer(machine.externalId ?? "").inspect();
    expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(info.HostConfig.CapAdd ?? []).toEqual([]);
    expect(info.HostConfig.SecurityOpt).toContain("no-new-privileges:true");
    const response = await fetch(
      `${base}/org/${fx.org.slug}/proj/${fx.project.slug}/${machine.id}/proxy/3000/api/exec`,
      {
        method: "POST",
        headers: { cookie: fx.cookie, origin: DASHBOARD_ORIGIN, "content-type": "application/json" },
        body: JSON.stringify({ command: "bash", args: ["-c", "id -u; sudo -n id -u 2>&1 || echo no-root"] }),
      },
    );
    const result = (await response.json()) as ExecResult;
    expect(result.stdout.trim().split("\n").at(0)).toBe("1000");
    expect(result.stdout).toContain("no-root");
    expect(result.stdout.split("\n")).not.toContain("0");
    expect(machine.profile).toBe("strict");
  });
});

describe("running machines per organization", () => {
  let t: TestOs2;
  let fx: Fixture;

  beforeAll(async () => {
    t = await startOs2({ OS2_MAX_RUNNING_MACHINES_PER_ORG: "2" });
    fx = await setUpProject(t, "quota+test@example.com");
  });
  afterAll(async () => {
    const stage = t?.os2.deps.stage;
    await t?.close();
    if (stage) await removeContainersOfStage(stage);
  });

  it("refuses one more create past the limit with a message naming it, leaving nothing behind", async () => {
    const made = await Promise.all(
      ["q-1", "q-2"].map((name) => fx.api.machine.create.mutate({ ...fx.scope, name, type: "local-docker" })),
    );
    const error = await fx.api.machine.create
      .mutate({ ...fx.scope, name: "q-3", type: "local-docker" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<never>).data).toMatchObject({ code: "FORBIDDEN", httpStatus: 403 });
    expect((error as TRPCClientError<never>).message).toMatch(
      /already runs 2 machines.*OS2_MAX_RUNNING_MACHINES_PER_ORG/,
    );
    const names = (await fx.api.machine.list.query({ ...fx.scope, includeArchived: true })).machines
      .map((m) => m.name)
      .sort();
    expect(names).toEqual(["q-1", "q-2"]);
    expect((await containersOfStage(t.os2.deps.stage)).map((c) => c.Names[0])).not.toContain("q-3");

    // Access tokens are held to the same limit, and so is starting a stopped machine.
    const token = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "quota" });
    const byToken = t.client({ bearer: token.token });
    await expect(byToken.machine.create.mutate({ ...fx.scope, name: "q-4", type: "local-docker" })).rejects.toThrow(
      /OS2_MAX_RUNNING_MACHINES_PER_ORG/,
    );
    const [first] = made;
    await fx.api.machine.stop.mutate({ ...fx.scope, machineId: first?.id ?? "" });
    const third = await fx.api.machine.create.mutate({ ...fx.scope, name: "q-3", type: "local-docker" });
    await expect(fx.api.machine.start.mutate({ ...fx.scope, machineId: first?.id ?? "" })).rejects.toThrow(
      /already runs 2/,
    );
    for (const machine of [...made, third]) await fx.api.machine.delete.mutate({ ...fx.scope, machineId: machine.id });
  });
});
