/**
 * The tracked-mutation wiring end to end: a real os2 (in-process harness) with POSTHOG_KEY, posthog-node
 * pointed at the PostHog stand-in, and every registered mutation called through tRPC as a signed-in user.
 * tracked-mutations.test.ts covers each extractor and the capture step on their own; this covers the
 * after-mutation middleware in app.ts: one event per successful call, none for a failed one, with groups
 * and `$environment` from the request's context.
 */
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { bodyTextOf, toLogLine } from "../../test-support/posthog-standin/log.ts";
import {
  type ParsedEvent,
  type PostHogStandin,
  startPostHogStandin,
} from "../../test-support/posthog-standin/standin.ts";
import { createTestOs2, type TestOs2 } from "../testing/harness.ts";
import { containersOfStage, removeContainersOfStage, waitForObservedState } from "../testing/machine-fixtures.ts";
import { listTrackedMutations } from "./tracked-mutations.ts";

const SERVER_KEY = "phc_integration_server";
const ENV_VALUE = `envvalue-${Math.random().toString(36).slice(2)}-sk_live`;
const IMAGE = process.env.LOCAL_DOCKER_IMAGE_NAME ?? "iterate-sandbox:local";

type Expected = { path: string; event: string; groups: Record<string, string>; properties?: Record<string, unknown> };

async function expectFailure(promise: Promise<unknown>, code: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof TRPCClientError)) throw error;
    expect((error.data as { code?: string } | undefined)?.code).toBe(code);
    return;
  }
  throw new Error(`expected the mutation to fail with ${code}`);
}

describe("tracked mutations through the tRPC middleware, with POSTHOG_KEY", () => {
  let standin: PostHogStandin;
  let t: TestOs2 | undefined;
  let stage = "";
  let userId = "";
  let rawToken = "";
  const expected: Expected[] = [];

  beforeAll(async () => {
    standin = await startPostHogStandin();
    t = await createTestOs2({
      env: { POSTHOG_KEY: SERVER_KEY, POSTHOG_HOST: standin.url, LOCAL_DOCKER_IMAGE_NAME: IMAGE },
    });
    stage = t.os2.deps.stage;
    const cookie = await t.signIn("tracked+test@example.com");
    const api = t.client({ cookie });
    userId = String((await api.user.me.query())?.id);

    const organization = await api.organization.create.mutate({ name: "Tracked" });
    const org = { organization: organization.id };
    expected.push({ path: "organization.create", event: "organization_created", groups: org });

    const project = await api.project.create.mutate({ organizationSlug: organization.slug, name: "Events" });
    const both = { organization: organization.id, project: project.id };
    const scope = { organizationSlug: organization.slug, projectSlug: project.slug };
    expected.push({ path: "project.create", event: "project_created", groups: both });

    await api.project.update.mutate({ ...scope, name: "Events 2" });
    expected.push({ path: "project.update", event: "project_updated", groups: both });

    const envVar = await api.envVar.set.mutate({ ...scope, key: "TRACKED_SECRET", value: ENV_VALUE });
    expected.push({
      path: "envVar.set",
      event: "env_var_set",
      groups: both,
      properties: { is_machine_override: false },
    });
    await api.envVar.delete.mutate({ ...scope, id: envVar.id });
    expected.push({ path: "envVar.delete", event: "env_var_deleted", groups: both });

    const token = await api.accessToken.create.mutate({ ...scope, name: "tracked token" });
    rawToken = token.token;
    expected.push({ path: "accessToken.create", event: "access_token_created", groups: both });
    await api.accessToken.revoke.mutate({ ...scope, id: token.id });
    expected.push({ path: "accessToken.revoke", event: "access_token_revoked", groups: both });

    const machine = await api.machine.create.mutate({ ...scope, name: "tracked", type: "local-docker" });
    expected.push({
      path: "machine.create",
      event: "machine_created",
      groups: both,
      properties: { machine_type: "local-docker" },
    });
    // Archive a booted machine: a machine archived while booting keeps its health watcher polling for a
    // minute, which would hold up close().
    await waitForObservedState(() => api.machine.byId.query({ ...scope, machineId: machine.id }), "running");
    await api.machine.archive.mutate({ ...scope, machineId: machine.id });
    expected.push({ path: "machine.archive", event: "machine_archived", groups: both });
    await api.machine.delete.mutate({ ...scope, machineId: machine.id });
    expected.push({ path: "machine.delete", event: "machine_deleted", groups: both });

    // Failures, at input validation and inside procedures, for paths whose success is tracked above.
    await expectFailure(api.envVar.set.mutate({ ...scope, key: "not a key", value: ENV_VALUE }), "BAD_REQUEST");
    await expectFailure(api.organization.create.mutate({ name: "Taken", slug: organization.slug }), "CONFLICT");
    await expectFailure(api.machine.create.mutate({ ...scope, name: "nope", type: "daytona" }), "PRECONDITION_FAILED");
    const unknownTokenId = `${token.id.slice(0, -1)}${token.id.endsWith("0") ? "1" : "0"}`;
    await expectFailure(api.accessToken.revoke.mutate({ ...scope, id: unknownTokenId }), "NOT_FOUND");

    await api.project.delete.mutate(scope);
    expected.push({ path: "project.delete", event: "project_deleted", groups: both });

    // Flush posthog-node's queue (it batches and sends on a timer) before asserting.
    await t.os2.analytics.shutdown();
  }, 240_000);

  afterAll(async () => {
    await t?.close();
    if (stage) await removeContainersOfStage(stage);
    await standin?.close();
  });

  const serverEvents = (): ParsedEvent[] =>
    standin.events().filter((event) => event.endpoint === "/batch/" && event.distinctId === userId);

  it("exercises every registered mutation (a new registration needs a case here)", () => {
    expect(expected.map((entry) => entry.path).sort()).toEqual([...listTrackedMutations()].sort());
  });

  it("sends exactly one event per successful mutation, with groups, $environment and the extracted properties", () => {
    const events = serverEvents();
    for (const { path, event, groups, properties } of expected) {
      const matching = events.filter((candidate) => candidate.event === event);
      expect(matching, `${path} → ${event}`).toHaveLength(1);
      expect(matching[0]?.apiKey).toBe(SERVER_KEY);
      expect(matching[0]?.properties, path).toMatchObject({
        ...properties,
        $lib: "posthog-node",
        $environment: stage,
        $groups: groups,
      });
    }
  });

  it("sends nothing for failed mutations: no event beyond the successful ones", () => {
    const trackedNames = new Set(expected.map((entry) => entry.event));
    const tracked = serverEvents().filter((event) => trackedNames.has(event.event));
    expect(tracked.map((event) => event.event).sort()).toEqual(expected.map((entry) => entry.event).sort());
  });

  it("never sends the env var value, its key or the raw access token", () => {
    expect(rawToken).toMatch(/^pat_/);
    expect(standin.requests.length).toBeGreaterThan(0);
    for (const request of standin.requests) {
      const text = bodyTextOf(toLogLine(request));
      expect(text).not.toContain(ENV_VALUE);
      expect(text).not.toContain("TRACKED_SECRET");
      expect(text).not.toContain(rawToken);
    }
    expect(t?.logLines.join("\n")).not.toContain(ENV_VALUE);
    expect(t?.logLines.join("\n")).not.toContain(rawToken);
  });

  it("leaves no container of this test's stage behind once the machine is deleted", async () => {
    expect(await containersOfStage(stage)).toEqual([]);
  });
});

describe("the /ingest proxy in the real app", () => {
  let standin: PostHogStandin;
  let t: TestOs2;

  beforeAll(async () => {
    standin = await startPostHogStandin();
    t = await createTestOs2({ env: { POSTHOG_HOST: standin.url } });
  });
  afterAll(async () => {
    await t?.close();
    await standin?.close();
  });

  it("answers 404 for a path outside PostHog's ingestion paths, without calling PostHog", async () => {
    const response = await t.fetch("/ingest/evil/path", { method: "POST", body: "{}" });
    expect(response.status).toBe(404);
    expect(standin.requests).toEqual([]);
  });

  it("forwards an event without the session cookie or Authorization header", async () => {
    const response = await t.fetch("/ingest/e/", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        cookie: "better-auth.session_token=abc",
        authorization: "Bearer pat_x",
      },
      body: JSON.stringify({ api_key: "phc_test", batch: [{ event: "proxied", properties: { distinct_id: "anon" } }] }),
    });
    expect(response.status).toBe(200);
    expect(standin.requests).toHaveLength(1);
    const [forwarded] = standin.requests;
    expect(forwarded?.path).toBe("/e/");
    expect(forwarded?.headers.cookie).toBeUndefined();
    expect(forwarded?.headers.authorization).toBeUndefined();
    expect(standin.events().map((event) => event.event)).toEqual(["proxied"]);
  });
});
