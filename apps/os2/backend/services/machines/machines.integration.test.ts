/**
 * Machines on a real Docker Engine with the real sandbox image (iterate-sandbox:local, built by
 * `pnpm snapshot:local-docker`): lifecycle, env injection, the proxy (HTTP and WebSocket), the reconciler,
 * and the failure modes a user hits (Docker down, image missing, container removed behind os2's back).
 */
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";

import { createUnconfiguredDaytonaProvider } from "../../providers/daytona/index.ts";
import { LocalDockerProvider } from "../../providers/local-docker/index.ts";
import { createTestOs2, DASHBOARD_ORIGIN, type TestOs2 } from "../../testing/harness.ts";
import {
  containersOfStage,
  docker,
  openTerminal,
  removeContainersOfStage,
  setUpProject,
  waitForObservedState,
} from "../../testing/machine-fixtures.ts";
import { CONTAINER_REMOVED_MESSAGE } from "./reconciler.ts";

const IMAGE = process.env.LOCAL_DOCKER_IMAGE_NAME ?? "iterate-sandbox:local";

async function errorOf(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCClientError)
      return { code: (error.data as { code: string }).code, message: error.message };
    throw error;
  }
  throw new Error("expected failure");
}

describe("local-docker machines", () => {
  let t: TestOs2;
  let fx: Awaited<ReturnType<typeof setUpProject>>;
  let base: string;

  beforeAll(async () => {
    // No grace for orphans here: this suite makes them on purpose (installations.integration.test.ts has the grace).
    t = await createTestOs2({ env: { LOCAL_DOCKER_IMAGE_NAME: IMAGE, OS2_ORPHAN_GRACE_MS: "0" } });
    fx = await setUpProject(t);
    base = await t.listen();
  });
  afterAll(async () => {
    const stage = t?.os2.deps.stage;
    await t?.close();
    if (stage) {
      const left = await containersOfStage(stage);
      if (left.length > 0)
        console.error(
          "containers left by this suite:",
          left.map((c) => c.Id),
        );
      await removeContainersOfStage(stage);
    }
  });

  const byId = (machineId: string) => () => fx.api.machine.byId.query({ ...fx.scope, machineId });
  const proxyUrl = (machineId: string, rest: string) =>
    `${base}/org/${fx.org.slug}/proj/${fx.project.slug}/${machineId}/proxy/3000${rest}`;

  it("runs the whole lifecycle, injects env, and leaves no container after delete", async () => {
    await fx.api.envVar.set.mutate({ ...fx.scope, key: "GREETING", value: "hello-from-project" });
    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "life-cycle", type: "local-docker" });
    await waitForObservedState(byId(created.id), "running");

    const exec = await fetch(proxyUrl(created.id, "/api/exec"), {
      method: "POST",
      headers: { cookie: fx.cookie, origin: DASHBOARD_ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ command: "printenv", args: ["GREETING", "OS2_MACHINE_ID", "OS2_PROJECT_ID"] }),
    });
    expect(exec.status).toBe(200);
    const result = (await exec.json()) as { stdout: string; exitCode: number };
    expect(result.exitCode).toBe(0);
    expect(result.stdout.split("\n")).toEqual(["hello-from-project", created.id, fx.project.id, ""]);

    const info = await fx.api.machine.getPreviewInfo.query({ ...fx.scope, machineId: created.id });
    expect(info.directUrl).toMatch(/^http:\/\/localhost:\d+$/);
    const direct = await fetch(`${info.directUrl}/api/health`);
    expect(direct.status).toBe(200);

    await fx.api.machine.stop.mutate({ ...fx.scope, machineId: created.id });
    expect((await byId(created.id)()).observedState).toBe("stopped");
    await fx.api.machine.start.mutate({ ...fx.scope, machineId: created.id });
    await waitForObservedState(byId(created.id), "running");
    await fx.api.machine.restart.mutate({ ...fx.scope, machineId: created.id });
    await waitForObservedState(byId(created.id), "running");
    await fx.api.machine.archive.mutate({ ...fx.scope, machineId: created.id });
    expect((await byId(created.id)()).observedState).toBe("archived");
    expect((await fx.api.machine.list.query({ ...fx.scope })).machines.map((m) => m.id)).not.toContain(created.id);
    expect(
      (await fx.api.machine.list.query({ ...fx.scope, includeArchived: true })).machines.map((m) => m.id),
    ).toContain(created.id);
    await fx.api.machine.unarchive.mutate({ ...fx.scope, machineId: created.id });
    await waitForObservedState(byId(created.id), "running");

    const events = await fx.api.machine.events.query({ ...fx.scope, machineId: created.id });
    expect(events.map((e) => e.toState)).toEqual(
      expect.arrayContaining(["creating", "starting", "running", "stopped", "archived"]),
    );
    expect(events.find((e) => e.toState === "running")?.durationMs).toBeGreaterThan(0);

    await fx.api.machine.delete.mutate({ ...fx.scope, machineId: created.id });
    const left = await docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`os2.machine-id=${created.id}`] }),
    });
    expect(left).toEqual([]);
    expect((await errorOf(byId(created.id)())).code).toBe("NOT_FOUND");
  });

  it("applies env changes at the next restart (a removed var is gone, an override wins) and says a restart is due until then", async () => {
    await fx.api.envVar.set.mutate({ ...fx.scope, key: "RESTART_ME", value: "before" });
    await fx.api.envVar.set.mutate({ ...fx.scope, key: "DROP_ME", value: "soon-gone" });
    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "env-restart", type: "local-docker" });
    await waitForObservedState(byId(created.id), "running");
    const printenv = async () => {
      const exec = await fetch(proxyUrl(created.id, "/api/exec"), {
        method: "POST",
        headers: { cookie: fx.cookie, origin: DASHBOARD_ORIGIN, "content-type": "application/json" },
        body: JSON.stringify({ command: "sh", args: ["-c", 'printf "%s|%s" "$RESTART_ME" "${DROP_ME-unset}"'] }),
      });
      return ((await exec.json()) as { stdout: string }).stdout;
    };
    expect(await printenv()).toBe("before|soon-gone");
    expect((await byId(created.id)()).envPendingRestart).toBe(false);

    const listed = await fx.api.envVar.list.query(fx.scope);
    const drop = listed.find((variable) => variable.key === "DROP_ME" && variable.machineId === null);
    await fx.api.envVar.delete.mutate({ ...fx.scope, id: drop!.id });
    await fx.api.envVar.set.mutate({ ...fx.scope, key: "RESTART_ME", value: "after", machineId: created.id });
    expect((await byId(created.id)()).envPendingRestart).toBe(true);
    // Until the restart, what runs keeps the environment it started with.
    expect(await printenv()).toBe("before|soon-gone");

    await fx.api.machine.restart.mutate({ ...fx.scope, machineId: created.id });
    await waitForObservedState(byId(created.id), "running");
    expect(await printenv()).toBe("after|unset");
    expect((await byId(created.id)()).envPendingRestart).toBe(false);
    await fx.api.machine.delete.mutate({ ...fx.scope, machineId: created.id });
    await fx.api.envVar.delete.mutate({
      ...fx.scope,
      id: (await fx.api.envVar.list.query(fx.scope)).find((v) => v.key === "RESTART_ME" && v.machineId === null)!.id,
    });
  });

  it("proxies HTTP and WebSocket to the daemon, and denies anonymous callers, outsiders and other projects' tokens", async () => {
    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "proxied", type: "local-docker" });
    await waitForObservedState(byId(created.id), "running");

    const own = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "own" });
    const outsider = await setUpProject(t, "outsider+test@example.com");
    const foreign = await outsider.api.accessToken.create.mutate({ ...outsider.scope, name: "foreign" });

    const status = async (headers: Record<string, string>) =>
      (await fetch(proxyUrl(created.id, "/api/tmux/sessions"), { headers })).status;
    expect(await status({})).toBe(401);
    expect(await status({ cookie: outsider.cookie })).toBe(404);
    expect(await status({ authorization: `Bearer ${foreign.token}` })).toBe(404);
    expect(await status({ authorization: `Bearer ${own.token}` })).toBe(200);
    expect(await status({ cookie: fx.cookie })).toBe(200);

    const wsUrl = `${proxyUrl(created.id, "/api/pty/ws").replace(/^http/, "ws")}?cols=80&rows=24&tmuxSession=proxy-test`;
    const upgradeStatus = (headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(wsUrl, { headers });
        socket.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
        socket.once("open", () => {
          socket.close();
          resolve(101);
        });
      });
    expect(await upgradeStatus({})).toBe(401);
    expect(await upgradeStatus({ cookie: outsider.cookie, origin: DASHBOARD_ORIGIN })).toBe(404);
    expect(await upgradeStatus({ authorization: `Bearer ${foreign.token}` })).toBe(404);
    expect(await upgradeStatus({ authorization: `Bearer ${own.token}` })).toBe(101);

    const terminal = await openTerminal(wsUrl, { cookie: fx.cookie, origin: DASHBOARD_ORIGIN });
    // tmux draws the screen the moment it attaches; the proxy must not lose frames sent during the upgrade.
    await expect.poll(() => terminal.screen().length, { timeout: 10_000 }).toBeGreaterThan(0);
    terminal.type("echo proxied-$((40+2))\r");
    await expect.poll(terminal.screen, { timeout: 15_000 }).toContain("proxied-42");
    terminal.close();
  });

  it("marks a machine whose container was removed behind os2's back, and recreates it on request", async () => {
    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "removed", type: "local-docker" });
    await waitForObservedState(byId(created.id), "running");
    const externalId = (await byId(created.id)()).externalId;
    await docker.getContainer(externalId ?? "").remove({ force: true });
    await t.os2.reconciler.reconcileOnce();
    const marked = await byId(created.id)();
    expect(marked.observedState).toBe("error");
    expect(marked.lastError).toBe(CONTAINER_REMOVED_MESSAGE);

    await fx.api.machine.recreate.mutate({ ...fx.scope, machineId: created.id });
    await waitForObservedState(byId(created.id), "running");
    await fx.api.machine.delete.mutate({ ...fx.scope, machineId: created.id });
  });

  it("brings a container that died back to running, as its desired state asks", async () => {
    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "died", type: "local-docker" });
    await waitForObservedState(byId(created.id), "running");
    await docker.getContainer((await byId(created.id)()).externalId ?? "").kill();
    await t.os2.reconciler.reconcileOnce();
    await waitForObservedState(byId(created.id), "running");
    const reasons = (await fx.api.machine.events.query({ ...fx.scope, machineId: created.id })).map(
      (e) => `${e.toState}:${e.reason}`,
    );
    expect(reasons).toEqual(expect.arrayContaining(["stopped:provider", "starting:reconciler"]));
    await fx.api.machine.delete.mutate({ ...fx.scope, machineId: created.id });
  });

  it("removes orphans with os2's labels and never touches unlabelled containers", async () => {
    const stage = t.os2.deps.stage;
    const orphan = await docker.createContainer({
      Image: IMAGE,
      Entrypoint: ["sleep", "300"],
      Labels: {
        "os2.managed": "true",
        "os2.installation": t.os2.installationId,
        "os2.machine-id": "mach_orphan",
        "os2.project-id": "prj_x",
        "os2.stage": stage,
      },
    });
    const bystander = await docker.createContainer({
      Image: IMAGE,
      Entrypoint: ["sleep", "300"],
      Labels: { "someone.else": "yes" },
    });
    try {
      const report = await t.os2.reconciler.reconcileOnce();
      expect(report.orphansRemoved).toBe(1);
      await expect(orphan.inspect()).rejects.toMatchObject({ statusCode: 404 });
      expect((await bystander.inspect()).Id).toBe(bystander.id);
    } finally {
      await bystander.remove({ force: true });
      await orphan.remove({ force: true }).catch(() => undefined);
    }
  });

  it("deletes a project's machines, and their containers, with the project", async () => {
    const doomed = await fx.api.project.create.mutate({ organizationSlug: fx.org.slug, name: "Doomed" });
    const scope = { organizationSlug: fx.org.slug, projectSlug: doomed.slug };
    const created = await fx.api.machine.create.mutate({ ...scope, name: "goes-with-project", type: "local-docker" });
    await fx.api.project.delete.mutate(scope);
    const left = await docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`os2.machine-id=${created.id}`] }),
    });
    expect(left).toEqual([]);
  });

  it("rejects invalid names and unknown types with a message naming the field", async () => {
    const bad = await errorOf(fx.api.machine.create.mutate({ ...fx.scope, name: "Not OK!", type: "local-docker" }));
    expect(bad.code).toBe("BAD_REQUEST");
    expect(bad.message).toMatch(/name: Use 1–63 lowercase/);
    const badType = await errorOf(
      fx.api.machine.create.mutate({ ...fx.scope, name: "ok", type: "vmware" as "daytona" }),
    );
    expect(badType.message).toMatch(/type: Must be one of: local-docker, daytona/);
    const badId = await errorOf(
      fx.api.machine.byId.query({ ...fx.scope, machineId: "mach_doesnotexist0000000000000" }),
    );
    expect(badId.code).toBe("BAD_REQUEST");
  });
});

describe("local-docker machines when Docker or the image is missing", () => {
  it("fails create at once with 503 naming DOCKER_HOST when Docker is unreachable, leaving no machine", async () => {
    const t = await createTestOs2({
      providers: {
        "local-docker": new LocalDockerProvider({
          dockerHost: "tcp://127.0.0.1:1",
          imageName: IMAGE,
          stage: "unreachable",
        }),
        daytona: createUnconfiguredDaytonaProvider(),
      },
    });
    try {
      const fx = await setUpProject(t);
      const started = Date.now();
      const error = await errorOf(
        fx.api.machine.create.mutate({ ...fx.scope, name: "nodocker", type: "local-docker" }),
      );
      expect(Date.now() - started).toBeLessThan(10_000);
      // Docker not answering is a fault that may pass (503), not a set-up problem (412).
      expect(error.code).toBe("SERVICE_UNAVAILABLE");
      expect(error.message).toContain("DOCKER_HOST");
      expect((await fx.api.machine.list.query({ ...fx.scope, includeArchived: true })).machines).toEqual([]);
      const types = await fx.api.machine.types.query(fx.scope);
      expect(types.find((type) => type.type === "local-docker")).toMatchObject({ available: false });
      expect(types.find((type) => type.type === "daytona")).toMatchObject({
        available: false,
        reason: expect.stringContaining("DAYTONA_API_KEY"),
      });
    } finally {
      await t.close();
    }
  });

  it("names pnpm snapshot:local-docker when the image is missing", async () => {
    const t = await createTestOs2({ env: { LOCAL_DOCKER_IMAGE_NAME: "os2-missing-image:never" } });
    try {
      const fx = await setUpProject(t);
      const error = await errorOf(fx.api.machine.create.mutate({ ...fx.scope, name: "noimage", type: "local-docker" }));
      expect(error.message).toContain("pnpm snapshot:local-docker");
      expect((await fx.api.machine.list.query({ ...fx.scope, includeArchived: true })).machines).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
