/**
 * The warm pool on a real Docker Engine with the real sandbox image: a create claims a booted machine,
 * which then holds its project's env and token and nothing of anyone else's; the pool credential is
 * refused after the claim; the pool renews when the image changes; and a create without a usable member
 * boots cold.
 */
import { asc } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { warmPoolMember } from "../../db/schema/warm-pool.ts";
import { createTestOs2, DASHBOARD_ORIGIN, type TestOs2 } from "../../testing/harness.ts";
import {
  docker,
  openTerminal,
  removeContainersOfStage,
  setUpProject,
  waitForObservedState,
} from "../../testing/machine-fixtures.ts";

const IMAGE = process.env.LOCAL_DOCKER_IMAGE_NAME ?? "iterate-sandbox:local";
const REPO = "os2-pool-renewal-test";

type Fixture = Awaited<ReturnType<typeof setUpProject>>;

async function members(t: TestOs2) {
  return t.os2.database.db.select().from(warmPoolMember).orderBy(asc(warmPoolMember.createdAt));
}

/** Fills the pool as the reconciler's leader would, and waits for it. */
async function fill(t: TestOs2) {
  t.os2.pool.setLeading(true);
  await t.os2.pool.maintain();
}

async function daemonUrl(externalId: string) {
  const info = await docker.getContainer(externalId).inspect();
  const port = info.NetworkSettings.Ports["3000/tcp"]?.[0]?.HostPort;
  return `http://127.0.0.1:${port}`;
}

async function startTestOs2(env: Record<string, string>) {
  const t = await createTestOs2({ env: { LOCAL_DOCKER_IMAGE_NAME: IMAGE, OS2_ORPHAN_GRACE_MS: "0", ...env } });
  return t;
}

async function closeTestOs2(t: TestOs2 | undefined) {
  const stage = t?.os2.deps.stage;
  await t?.close();
  if (stage) await removeContainersOfStage(stage);
}

describe("warm pool: claim isolation", () => {
  let t: TestOs2;
  let a: Fixture;
  let b: { scope: Fixture["scope"] };
  let base: string;

  beforeAll(async () => {
    t = await startTestOs2({ OS2_WARM_POOL_SIZE: "2" });
    a = await setUpProject(t);
    const projectB = await a.api.project.create.mutate({ organizationSlug: a.org.slug, name: "Other" });
    b = { scope: { organizationSlug: a.org.slug, projectSlug: projectB.slug } };
    base = await t.listen();
  });
  afterAll(() => closeTestOs2(t));

  const proxyUrl = (scope: Fixture["scope"], machineId: string, rest: string) =>
    `${base}/org/${scope.organizationSlug}/proj/${scope.projectSlug}/${machineId}/proxy/3000${rest}`;

  async function exec(scope: Fixture["scope"], machineId: string, script: string) {
    const response = await fetch(proxyUrl(scope, machineId, "/api/exec"), {
      method: "POST",
      headers: { cookie: a.cookie, origin: DASHBOARD_ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ command: "sh", args: ["-c", script] }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { stdout: string }).stdout;
  }

  it("a claimed machine shows its project's env in exec and a new terminal; the pool credential is refused after; the next project's machine never saw it", async () => {
    await fill(t);
    const pooled = await members(t);
    expect(pooled.map((m) => m.state)).toEqual(["ready", "ready"]);
    const poolTokens = new Map(pooled.map((m) => [m.externalId, t.os2.deps.encryptor.decrypt(m.poolTokenEncrypted)]));

    await a.api.envVar.set.mutate({ ...a.scope, key: "ONLY_FOR_A", value: "secret-of-project-a" });
    const started = Date.now();
    const machineA = await a.api.machine.create.mutate({ ...a.scope, name: "claimed-a", type: "local-docker" });
    const claimMs = Date.now() - started;
    // Honest state: running only after the daemon confirmed the claim, so at once here.
    expect(machineA.observedState).toBe("running");
    expect(poolTokens.has(machineA.externalId)).toBe(true);
    console.log(`warm create → running through tRPC: ${claimMs} ms`);

    expect(await exec(a.scope, machineA.id, 'printf %s "$ONLY_FOR_A/$OS2_MACHINE_ID/$OS2_PROJECT_ID"')).toBe(
      `secret-of-project-a/${machineA.id}/${a.project.id}`,
    );
    expect(await exec(a.scope, machineA.id, 'printf %s "${OS2_POOL_TOKEN-none}"')).toBe("none");

    const wsUrl = `${proxyUrl(a.scope, machineA.id, "/api/pty/ws").replace(/^http/, "ws")}?cols=80&rows=24&tmuxSession=claimed`;
    const terminal = await openTerminal(wsUrl, { cookie: a.cookie, origin: DASHBOARD_ORIGIN });
    await expect.poll(() => terminal.screen().length, { timeout: 10_000 }).toBeGreaterThan(0);
    terminal.type('echo "seen:$ONLY_FOR_A"\r');
    await expect.poll(terminal.screen, { timeout: 15_000 }).toContain("seen:secret-of-project-a");
    terminal.close();

    // The pool credential opens nothing on the claimed machine, and cannot claim it again.
    const direct = await daemonUrl(machineA.externalId ?? "");
    const poolToken = poolTokens.get(machineA.externalId) ?? "";
    const withPool = { authorization: `Bearer ${poolToken}` };
    expect((await fetch(`${direct}/api/oom`, { headers: withPool })).status).toBe(401);
    const reclaim = await fetch(`${direct}/api/claim`, {
      method: "PUT",
      headers: { ...withPool, "content-type": "application/json" },
      body: JSON.stringify({ token: "hostile-token-0123456789abcdef", env: {} }),
    });
    expect(reclaim.status).toBe(409);

    // Nor can a user re-claim it, or rewrite its env, through the dashboard door.
    for (const route of ["/api/claim", "/api//claim/", "/api/env"]) {
      const relayed = await fetch(proxyUrl(a.scope, machineA.id, route), {
        method: "PUT",
        headers: { cookie: a.cookie, origin: DASHBOARD_ORIGIN, "content-type": "application/json" },
        body: JSON.stringify({ token: "hostile-token-0123456789abcdef", env: {} }),
      });
      expect(relayed.status, route).toBe(403);
    }

    const machineB = await a.api.machine.create.mutate({ ...b.scope, name: "claimed-b", type: "local-docker" });
    expect(machineB.observedState).toBe("running");
    expect(machineB.externalId).not.toBe(machineA.externalId);
    expect(poolTokens.has(machineB.externalId)).toBe(true);
    expect(await exec(b.scope, machineB.id, 'printf %s "${ONLY_FOR_A-unset}"')).toBe("unset");
    // Nothing of A's on B's filesystem either (the daemon's stored env included).
    expect(
      await exec(b.scope, machineB.id, "grep -rl secret-of-project-a /var/lib/os2 /workspace 2>/dev/null; true"),
    ).toBe("");

    // The claimed containers are the machines' now: the reconciler keeps them (matched by external id).
    await t.os2.reconciler.reconcileOnce();
    for (const [scope, id] of [
      [a.scope, machineA.id],
      [b.scope, machineB.id],
    ] as const) {
      const row = await a.api.machine.byId.query({ ...scope, machineId: id });
      expect(row.observedState).toBe("running");
    }

    // The pool refills with fresh members, none of them a claimed container.
    await fill(t);
    const refilled = await members(t);
    expect(refilled).toHaveLength(2);
    expect(refilled.map((m) => m.externalId)).not.toContain(machineA.externalId);
    expect(refilled.map((m) => m.externalId)).not.toContain(machineB.externalId);

    // A claimed machine restarts as itself: its token and env survive, the pool credential stays refused.
    await a.api.machine.restart.mutate({ ...a.scope, machineId: machineA.id });
    await waitForObservedState(() => a.api.machine.byId.query({ ...a.scope, machineId: machineA.id }), "running");
    expect(await exec(a.scope, machineA.id, 'printf %s "$ONLY_FOR_A"')).toBe("secret-of-project-a");
    const afterRestart = await daemonUrl(machineA.externalId ?? "");
    expect((await fetch(`${afterRestart}/api/oom`, { headers: withPool })).status).toBe(401);

    await a.api.machine.delete.mutate({ ...a.scope, machineId: machineA.id });
    await a.api.machine.delete.mutate({ ...b.scope, machineId: machineB.id });
  });
});

describe("warm pool: fallback", () => {
  let t: TestOs2;
  let fx: Fixture;

  beforeAll(async () => {
    t = await startTestOs2({ OS2_WARM_POOL_SIZE: "1" });
    fx = await setUpProject(t);
  });
  afterAll(() => closeTestOs2(t));

  const byId = (machineId: string) => () => fx.api.machine.byId.query({ ...fx.scope, machineId });

  it("with the pool empty, create boots a machine cold", async () => {
    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "cold", type: "local-docker" });
    expect(created.observedState).toBe("starting");
    await waitForObservedState(byId(created.id), "running");
    const info = await docker.getContainer(created.externalId ?? "").inspect();
    expect(info.Config.Labels["os2.pool"]).toBeUndefined();
    await fx.api.machine.delete.mutate({ ...fx.scope, machineId: created.id });
  });

  it("a claim that fails is an event, the member is removed, and the machine boots cold", async () => {
    await fill(t);
    const [member] = await members(t);
    expect(member?.state).toBe("ready");
    // The member's daemon goes away behind the pool's back: the claim cannot be confirmed.
    await docker.getContainer(member?.externalId ?? "").stop({ t: 0 });
    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "fallback", type: "local-docker" });
    expect(created.externalId).not.toBe(member?.externalId);
    await waitForObservedState(byId(created.id), "running");
    const events = await fx.api.machine.events.query({ ...fx.scope, machineId: created.id });
    expect(events.map((e) => e.detail ?? "").join("\n")).toMatch(/could not be claimed .*booting a new one instead/);
    await expect(docker.getContainer(member?.externalId ?? "").inspect()).rejects.toThrow();
    await fx.api.machine.delete.mutate({ ...fx.scope, machineId: created.id });
  });

  it("a create refused after its member was taken (name already used) puts the member back, ready and untouched", async () => {
    await fill(t);
    const kept = await fx.api.machine.create.mutate({ ...fx.scope, name: "kept", type: "local-docker" });
    await waitForObservedState(byId(kept.id), "running");
    await fill(t);
    const [before] = await members(t);
    expect(before?.state).toBe("ready");
    await expect(fx.api.machine.create.mutate({ ...fx.scope, name: "kept", type: "local-docker" })).rejects.toThrow(
      /already/i,
    );
    const [after] = await members(t);
    expect(after).toMatchObject({ id: before?.id, state: "ready", claimedBy: null, externalId: before?.externalId });
    // Its daemon still takes only the pool credential: nothing was handed to it.
    const response = await fetch(`${await daemonUrl(after?.externalId ?? "")}/api/oom`);
    expect(response.status).toBe(401);
    await fx.api.machine.delete.mutate({ ...fx.scope, machineId: kept.id });
  });

  it("with the pool off, create boots cold and no member is ever made", async () => {
    const off = await startTestOs2({ OS2_WARM_POOL_SIZE: "0" });
    try {
      const offFx = await setUpProject(off, "off+test@example.com");
      await fill(off);
      expect(await members(off)).toHaveLength(0);
      const created = await offFx.api.machine.create.mutate({ ...offFx.scope, name: "off", type: "local-docker" });
      await waitForObservedState(
        () => offFx.api.machine.byId.query({ ...offFx.scope, machineId: created.id }),
        "running",
      );
      await offFx.api.machine.delete.mutate({ ...offFx.scope, machineId: created.id });
    } finally {
      await closeTestOs2(off);
    }
  });
});

describe("warm pool: renewal", () => {
  let t: TestOs2;
  let fx: Fixture;
  let tag: string;

  beforeAll(async () => {
    tag = `${REPO}:${process.pid}`;
    await docker.getImage(IMAGE).tag({ repo: REPO, tag: String(process.pid) });
    t = await createTestOs2({
      env: { LOCAL_DOCKER_IMAGE_NAME: tag, OS2_ORPHAN_GRACE_MS: "0", OS2_WARM_POOL_SIZE: "2" },
    });
    fx = await setUpProject(t);
  });
  afterAll(async () => {
    await closeTestOs2(t);
    await docker
      .getImage(tag)
      .remove({ force: true })
      .catch(() => undefined);
  });

  it("a rebuilt image drains the pool and renews it; no machine created afterwards runs the old image", async () => {
    await fill(t);
    const before = await members(t);
    expect(before).toHaveLength(2);
    const oldImage = before[0]?.imageVersion;
    expect(before.every((m) => m.imageVersion === oldImage)).toBe(true);

    // A rebuild: the tag now points at another image (the same one with one more label).
    // Created, never started: its config (entry point, command) is the image's own.
    const scratch = await docker.createContainer({ Image: tag });
    const committed = (await scratch.commit({
      repo: REPO,
      tag: String(process.pid),
      changes: [`LABEL os2.renewal-test=${Date.now()}`],
    })) as {
      Id: string;
    };
    await scratch.remove({ force: true });
    const newImage = (await docker.getImage(tag).inspect()).Id;
    expect(newImage).not.toBe(oldImage);
    expect(committed.Id).toBe(newImage);

    await fill(t);
    const after = await members(t);
    expect(after).toHaveLength(2);
    expect(after.every((m) => m.imageVersion === newImage)).toBe(true);
    for (const old of before) await expect(docker.getContainer(old.externalId ?? "").inspect()).rejects.toThrow();

    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "renewed", type: "local-docker" });
    expect(created.observedState).toBe("running");
    expect((await docker.getContainer(created.externalId ?? "").inspect()).Image).toBe(newImage);
    await fx.api.machine.delete.mutate({ ...fx.scope, machineId: created.id });
  });
});

describe("warm pool: machines a project keeps for itself", () => {
  let t: TestOs2;
  let a: Fixture;
  let b: { scope: Fixture["scope"]; id: string };

  beforeAll(async () => {
    // No shared pool: every member here is kept for one project.
    t = await startTestOs2({
      OS2_WARM_POOL_SIZE: "0",
      OS2_WARM_POOL_PROJECT_MAX: "2",
      OS2_WARM_POOL_RESERVED_MAX: "2",
    });
    a = await setUpProject(t);
    const projectB = await a.api.project.create.mutate({ organizationSlug: a.org.slug, name: "Other" });
    b = { scope: { organizationSlug: a.org.slug, projectSlug: projectB.slug }, id: projectB.id };
  });
  afterAll(() => closeTestOs2(t));

  const byId = (scope: Fixture["scope"], machineId: string) => () => a.api.machine.byId.query({ ...scope, machineId });

  it("a size above the installation's cap is refused naming the field and the cap, and nothing is stored", async () => {
    await expect(a.api.project.setWarmPoolSize.mutate({ ...a.scope, size: 3 })).rejects.toThrow(
      /size: at most 2 warm machines per project .*OS2_WARM_POOL_PROJECT_MAX.*asked for 3/,
    );
    expect(await a.api.project.warmPool.query(a.scope)).toMatchObject({ size: 0, max: 2 });
  });

  it("the reserved total is shared out one per project per round, so one project cannot take every slot", async () => {
    await a.api.project.setWarmPoolSize.mutate({ ...a.scope, size: 2 });
    await a.api.project.setWarmPoolSize.mutate({ ...b.scope, size: 2 });
    const targets = await t.os2.pool.targets();
    // Two reserved in all, both asking for two: one each, not both to the older project.
    expect(targets.map((target) => [target.projectId, target.size])).toEqual([
      [null, 0],
      [a.project.id, 1],
      [b.id, 1],
    ]);
    expect(await a.api.project.warmPool.query(b.scope)).toMatchObject({ size: 2, allotted: 1 });
    await a.api.project.setWarmPoolSize.mutate({ ...b.scope, size: 0 });
    await a.api.project.setWarmPoolSize.mutate({ ...a.scope, size: 0 });
  });

  it("its members boot with its default limits; its creates claim them, another project's never do; 0 drains them", async () => {
    await a.api.project.setMachineDefaults.mutate({ ...a.scope, cpus: 0.5, memoryMb: 768, pids: 300 });
    const shown = await a.api.project.setWarmPoolSize.mutate({ ...a.scope, size: 1 });
    expect(shown).toMatchObject({ size: 1, allotted: 1 });
    await fill(t);
    const [member, ...others] = await members(t);
    expect(others).toHaveLength(0);
    expect(member).toMatchObject({ projectId: a.project.id, state: "ready", memoryMb: 768, pids: 300 });
    const booted = await docker.getContainer(member?.externalId ?? "").inspect();
    expect(booted.HostConfig.Memory).toBe(768 * 1024 * 1024);
    expect(booted.HostConfig.PidsLimit).toBe(300);
    // The reservation is in the member row only: the container holds no project's id or data.
    expect(booted.Config.Labels["os2.project-id"]).toBe("");
    expect(booted.Config.Env.some((entry) => entry.includes(a.project.id))).toBe(false);
    expect(await a.api.project.warmPool.query(a.scope)).toMatchObject({ size: 1, ready: 1, booting: 0 });

    // Project B has no members of its own and no shared pool: it boots cold and leaves A's member alone.
    const machineB = await a.api.machine.create.mutate({ ...b.scope, name: "b-cold", type: "local-docker" });
    expect(machineB.observedState).toBe("starting");
    expect(machineB.externalId).not.toBe(member?.externalId);
    expect((await members(t)).map((m) => m.state)).toEqual(["ready"]);

    const machineA = await a.api.machine.create.mutate({ ...a.scope, name: "a-warm", type: "local-docker" });
    expect(machineA.observedState).toBe("running");
    expect(machineA.externalId).toBe(member?.externalId);
    expect(machineA).toMatchObject({ memoryMb: 768, pids: 300 });

    // The pool refills A's, then a size of 0 drains it.
    await fill(t);
    const [refilled] = await members(t);
    expect(refilled).toMatchObject({ projectId: a.project.id, state: "ready" });
    expect(refilled?.externalId).not.toBe(member?.externalId);
    await a.api.project.setWarmPoolSize.mutate({ ...a.scope, size: 0 });
    await fill(t);
    expect(await members(t)).toHaveLength(0);
    await expect(docker.getContainer(refilled?.externalId ?? "").inspect()).rejects.toThrow();

    await waitForObservedState(byId(b.scope, machineB.id), "running");
    await a.api.machine.delete.mutate({ ...a.scope, machineId: machineA.id });
    await a.api.machine.delete.mutate({ ...b.scope, machineId: machineB.id });
  });

  it("deleting a project removes the members it kept, rows and containers", async () => {
    const doomed = await a.api.project.create.mutate({ organizationSlug: a.org.slug, name: "Doomed" });
    const scope = { organizationSlug: a.org.slug, projectSlug: doomed.slug };
    await a.api.project.setWarmPoolSize.mutate({ ...scope, size: 1 });
    await fill(t);
    const [member] = await members(t);
    expect(member).toMatchObject({ projectId: doomed.id, state: "ready" });
    await a.api.project.delete.mutate(scope);
    expect(await members(t)).toHaveLength(0);
    await fill(t);
    await expect(docker.getContainer(member?.externalId ?? "").inspect()).rejects.toThrow();
    expect(await members(t)).toHaveLength(0);
  });
});
