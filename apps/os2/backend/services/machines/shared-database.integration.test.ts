/**
 * Two os2 instances on one PostgreSQL database and one Docker host, as a load-balanced deployment runs
 * them. Both run their reconciler; creates, stops, starts, restarts and deletes go to either at random,
 * several at once. Guarantees: exactly one reconciler leads at a time (logged) and the other takes over
 * within seconds when the leader goes; afterwards every row has its container and every container its
 * row, nothing is stuck mid-transition, and no request was a 5xx. Sign-in rate limits count across both.
 */
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createScratchDatabase, createTestOs2, type TestOs2 } from "../../testing/harness.ts";
import { containersOfStage, removeContainersOfStage, setUpProject } from "../../testing/machine-fixtures.ts";

const IMAGE = process.env.LOCAL_DOCKER_IMAGE_NAME ?? "iterate-sandbox:local";
const STAGE = `local-pair-${Math.random().toString(36).slice(2, 8)}`;
const LEADER_LINE = "this instance is now the reconciler leader";
const OPERATIONS = 24;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const leaderLines = (t: TestOs2) => t.logLines.filter((line) => line.includes(LEADER_LINE)).length;

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}

describe("two instances on one PostgreSQL", () => {
  let database: Awaited<ReturnType<typeof createScratchDatabase>>;
  let a: TestOs2;
  let b: TestOs2;
  const open: TestOs2[] = [];

  const start = async () => {
    const t = await createTestOs2({
      databaseUrl: database.url,
      startReconciler: true,
      env: {
        LOCAL_DOCKER_IMAGE_NAME: IMAGE,
        APP_STAGE: STAGE,
        RECONCILE_INTERVAL_MS: "500",
        OTP_RATE_LIMIT_PER_MINUTE: "4",
        OS2_ADMIN_EMAILS: "quota-admin+test@example.com",
      },
    });
    open.push(t);
    return t;
  };

  beforeAll(async () => {
    database = await createScratchDatabase();
    // One after the other: the first start migrates the database and creates the installation.
    a = await start();
    b = await start();
  });
  afterAll(async () => {
    await Promise.all(open.map((t) => t.close().catch(() => undefined)));
    await removeContainersOfStage(STAGE);
    await database?.drop();
  });

  it("is one installation with exactly one reconciler leader", async () => {
    expect(a.os2.installationId).toBe(b.os2.installationId);
    await until("a leader", () => leaderLines(a) + leaderLines(b) > 0, 10_000);
    // Several passes later there is still exactly one.
    await sleep(2_000);
    expect(leaderLines(a) + leaderLines(b)).toBe(1);
  });

  it("keeps rows and containers equal under random creates, stops, starts, restarts and deletes on both", async () => {
    const fx = await setUpProject(a);
    const apis = [fx.api, b.client({ cookie: fx.cookie })];
    const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T;
    const serverErrors: string[] = [];
    let created = 0;

    const operation = async (n: number) => {
      const api = pick(apis);
      const machines = (await api.machine.list.query({ ...fx.scope, includeArchived: true })).machines;
      const live = machines.filter((m) => m.desiredState !== "deleted");
      const action = live.length < 3 || n < 4 ? "create" : pick(["stop", "start", "restart", "delete", "create"]);
      try {
        if (action === "create") {
          created += 1;
          await api.machine.create.mutate({ ...fx.scope, name: `pair-${n}`, type: "local-docker" });
        } else {
          const target = pick(live);
          await api.machine[action as "stop" | "start" | "restart" | "delete"].mutate({
            ...fx.scope,
            machineId: target.id,
          });
        }
      } catch (error) {
        // Refusals (a machine already being deleted, a stop of a stopped one) are fine; a 5xx never is.
        const status = error instanceof TRPCClientError ? (error.data as { httpStatus?: number })?.httpStatus : 500;
        if ((status ?? 500) >= 500) serverErrors.push(`${action} #${n}: ${String(error)}`);
      }
    };

    for (let n = 0; n < OPERATIONS; n += 3) {
      await Promise.all([operation(n), operation(n + 1), operation(n + 2)]);
    }
    expect(serverErrors).toEqual([]);
    expect(created).toBeGreaterThan(3);

    // Settled: every machine where its desired state asks, and every deleted one gone.
    let rows = (await fx.api.machine.list.query({ ...fx.scope, includeArchived: true })).machines;
    await until(
      "every machine settling",
      async () => {
        rows = (await fx.api.machine.list.query({ ...fx.scope, includeArchived: true })).machines;
        return rows.every((row) => row.observedState === row.desiredState);
      },
      120_000,
    );
    const containers = await containersOfStage(STAGE);
    expect(containers.map((c) => c.Labels["os2.machine-id"]).sort()).toEqual(rows.map((row) => row.id).sort());
    expect(
      rows.filter((row) => ["creating", "starting", "stopping", "deleting", "error"].includes(row.observedState)),
    ).toEqual([]);
    expect(leaderLines(a) + leaderLines(b)).toBe(1);
  });

  it("holds an organization's running-machine quota across instances, even for creates racing on both", async () => {
    const fx = await setUpProject(a, "quota-admin+test@example.com");
    await fx.api.admin.setOrganizationLimits.mutate({
      organizationId: fx.org.id,
      maxCpus: null,
      maxMemoryMb: null,
      maxPids: null,
      maxRunningMachines: 2,
    });
    const apis = [fx.api, b.client({ cookie: fx.cookie })] as const;
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, (_, n) =>
        apis[n % 2 === 0 ? 0 : 1].machine.create
          .mutate({ ...fx.scope, name: `quota-${n}`, type: "local-docker" })
          .then(() => "created")
          .catch((error: unknown) => (error instanceof TRPCClientError ? String(error.data?.code) : String(error))),
      ),
    );
    expect(outcomes.filter((outcome) => outcome === "created")).toHaveLength(2);
    expect(outcomes.filter((outcome) => outcome === "FORBIDDEN")).toHaveLength(4);
    for (const row of (await fx.api.machine.list.query(fx.scope)).machines) {
      await fx.api.machine.delete.mutate({ ...fx.scope, machineId: row.id });
    }
  });

  it("counts sign-in code requests across both instances", async () => {
    const [urlA, urlB] = await Promise.all([a.listen(), b.listen()]);
    const request = (url: string) =>
      fetch(`${url}/api/auth/email-otp/send-verification-otp`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: "http://localhost:3001" },
        body: JSON.stringify({ email: "limited+test@example.com", type: "sign-in" }),
      }).then((response) => response.status);
    // At most 4 a minute per address and path. Counted per process, eight requests alternating between
    // two instances would all pass (four on each); counted in the database, no more than four do, and once
    // refused both instances refuse.
    const statuses: number[] = [];
    for (let n = 0; n < 8; n++) statuses.push(await request(n % 2 === 0 ? urlA : urlB));
    const passed = statuses.filter((status) => status === 200).length;
    expect(passed, `statuses: ${statuses.join(", ")}`).toBeGreaterThan(0);
    expect(passed, `statuses: ${statuses.join(", ")}`).toBeLessThanOrEqual(4);
    expect(statuses.slice(-2)).toEqual([429, 429]);
  });

  it("hands leadership to the other instance within seconds when the leader stops", async () => {
    const [leader, follower] = leaderLines(a) > 0 ? [a, b] : [b, a];
    expect(leaderLines(follower)).toBe(0);
    await leader.close();
    const stopped = Date.now();
    await until("the follower taking over", () => leaderLines(follower) === 1, 10_000);
    expect(Date.now() - stopped).toBeLessThan(10_000);
  });
});
