import { gunzipSync } from "node:zlib";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { type PostHogStandin, startPostHogStandin } from "../../test-support/posthog-standin/standin.ts";
import { createServerAnalytics } from "../analytics/server-analytics.ts";
import {
  captureTrackedMutation,
  getTrackedMutation,
  listTrackedMutations,
  registerTrackedMutation,
} from "./tracked-mutations.ts";

/** Recognisable secrets planted in inputs and outputs; none may reach PostHog. */
const ENV_KEY = "ENVKEY_PLANTED_STRIPE_LIVE";
const ENV_VALUE = "envvalue-planted-sk_live_123";
const TOKEN = "os2_tok_planted_abcdef";
const TOKEN_NAME = "tokenname-planted-ci";
const SECRETS = [ENV_KEY, ENV_VALUE, TOKEN, TOKEN_NAME];

const scope = { organizationSlug: "acme", projectSlug: "web" };

/** One realistic call per registered mutation, with the properties each must produce. */
const FIXTURES: Record<string, { input: unknown; output: unknown; event: string; properties: object }> = {
  "organization.create": {
    input: { name: "Acme", slug: "acme" },
    output: { id: "org_new", slug: "acme", name: "Acme" },
    event: "organization_created",
    properties: { organization_id: "org_new", organization_slug: "acme" },
  },
  "project.create": {
    input: { organizationSlug: "acme", name: "Web" },
    output: { id: "prj_new", slug: "web", name: "Web" },
    event: "project_created",
    properties: { organization_slug: "acme", project_id: "prj_new", project_slug: "web" },
  },
  "project.update": {
    input: { ...scope, name: "Web 2", newSlug: "web-2" },
    output: { id: "prj_1", slug: "web-2", name: "Web 2" },
    event: "project_updated",
    properties: { organization_slug: "acme", project_slug: "web", updated_fields: ["name", "slug"] },
  },
  "project.delete": {
    input: scope,
    output: { id: "prj_1" },
    event: "project_deleted",
    properties: { organization_slug: "acme", project_slug: "web", project_id: "prj_1" },
  },
  "machine.create": {
    input: { ...scope, name: "dev box", type: "local-docker" },
    output: { id: "mch_1", name: "dev box" },
    event: "machine_created",
    properties: { machine_type: "local-docker", machine_id: "mch_1" },
  },
  "machine.archive": {
    input: { ...scope, machineId: "mch_1" },
    output: undefined,
    event: "machine_archived",
    properties: { machine_id: "mch_1" },
  },
  "machine.delete": {
    input: { ...scope, machineId: "mch_1" },
    output: undefined,
    event: "machine_deleted",
    properties: { machine_id: "mch_1" },
  },
  "envVar.set": {
    input: { ...scope, key: ENV_KEY, value: ENV_VALUE, machineId: "mach_1" },
    output: { id: "env_1", key: ENV_KEY, value: ENV_VALUE, machineId: "mach_1" },
    event: "env_var_set",
    properties: { is_machine_override: true },
  },
  "envVar.delete": {
    input: { ...scope, id: "env_1" },
    output: { id: "env_1", key: ENV_KEY },
    event: "env_var_deleted",
    properties: {},
  },
  "accessToken.create": {
    input: { ...scope, name: TOKEN_NAME },
    output: { id: "pat_1", name: TOKEN_NAME, token: TOKEN },
    event: "access_token_created",
    properties: {},
  },
  "accessToken.revoke": {
    input: { ...scope, id: "pat_1" },
    output: { id: "pat_1", name: TOKEN_NAME },
    event: "access_token_revoked",
    properties: {},
  },
};

const ctx = { userId: "usr_1", organizationId: "org_1", projectId: "prj_1" };

let standin: PostHogStandin;
beforeEach(async () => {
  standin = await startPostHogStandin();
});
afterEach(async () => {
  await standin.close();
});

describe("tracked mutations registry", () => {
  it("registers every mutation the analytics design requires, each with a fixture here", () => {
    expect(listTrackedMutations().sort()).toEqual(Object.keys(FIXTURES).sort());
  });

  it("extracts no env var key or value, no token and no token name from any mutation", () => {
    for (const [path, fixture] of Object.entries(FIXTURES)) {
      const extracted = getTrackedMutation(path)?.extractProperties?.(fixture.input, fixture.output) ?? {};
      const text = JSON.stringify(extracted);
      for (const secret of SECRETS) expect(text, `${path} leaks ${secret}`).not.toContain(secret);
    }
  });

  it("returns {} from every extractor when the input is not the expected shape", () => {
    for (const path of listTrackedMutations()) {
      const extract = getTrackedMutation(path)?.extractProperties;
      for (const junk of [undefined, null, "x", 42, [], { organizationSlug: 1 }]) {
        // envVar.set reads only an optional field, so any object is a valid shape for it.
        if (path === "envVar.set" && typeof junk === "object" && junk !== null && !Array.isArray(junk)) continue;
        expect(extract?.(junk, junk) ?? {}, `${path} with ${JSON.stringify(junk)}`).toEqual({});
      }
    }
  });

  it("refuses a second registration of the same path, which would double-count events", () => {
    expect(() => registerTrackedMutation("project.create", { eventName: "again" })).toThrow(/registered twice/);
  });
});

describe("captureTrackedMutation through posthog-node", () => {
  it("sends exactly one event per registered mutation with its properties, groups and $environment", async () => {
    const analytics = createServerAnalytics({ apiKey: "phc_test", host: standin.url, stage: "stg", flushAt: 1 });
    for (const [path, fixture] of Object.entries(FIXTURES)) {
      expect(captureTrackedMutation({ analytics, path, input: fixture.input, output: fixture.output, ctx })).toBe(
        "captured",
      );
    }
    await analytics.shutdown();

    const events = standin.events();
    expect(events.map((e) => e.event)).toEqual(Object.values(FIXTURES).map((f) => f.event));
    for (const [index, fixture] of Object.values(FIXTURES).entries()) {
      const event = events[index];
      expect(event?.distinctId).toBe("usr_1");
      expect(event?.properties, fixture.event).toMatchObject({
        ...fixture.properties,
        $environment: "stg",
        $groups: { organization: "org_1", project: "prj_1" },
      });
    }
  });

  it("puts no planted secret in any byte sent to PostHog", async () => {
    const analytics = createServerAnalytics({ apiKey: "phc_test", host: standin.url, stage: "stg", flushAt: 1 });
    for (const [path, fixture] of Object.entries(FIXTURES)) {
      captureTrackedMutation({ analytics, path, input: fixture.input, output: fixture.output, ctx });
    }
    await analytics.shutdown();

    expect(standin.requests.length).toBeGreaterThan(0);
    for (const request of standin.requests) {
      const text = gunzipSync(request.body).toString("utf8") + JSON.stringify(request.headers);
      for (const secret of SECRETS) expect(text).not.toContain(secret);
    }
  });

  it("groups a new organization or project by the id in the output when the context has none yet", async () => {
    const analytics = createServerAnalytics({ apiKey: "phc_test", host: standin.url, stage: "stg", flushAt: 1 });
    captureTrackedMutation({
      analytics,
      path: "organization.create",
      input: { name: "Acme" },
      output: { id: "org_new", slug: "acme", name: "Acme" },
      ctx: { userId: "usr_1" },
    });
    captureTrackedMutation({
      analytics,
      path: "project.create",
      input: { organizationSlug: "acme", name: "Web" },
      output: { id: "prj_new", slug: "web", name: "Web" },
      ctx: { userId: "usr_1", organizationId: "org_new" },
    });
    await analytics.shutdown();

    expect(standin.events().map((e) => e.properties.$groups)).toEqual([
      { organization: "org_new" },
      { organization: "org_new", project: "prj_new" },
    ]);
  });

  it("sends nothing for a mutation that is not registered, nor for one without a signed-in user", async () => {
    const analytics = createServerAnalytics({ apiKey: "phc_test", host: standin.url, stage: "stg", flushAt: 1 });
    const untracked = captureTrackedMutation({ analytics, path: "auth.signIn", input: {}, output: {}, ctx });
    const anonymous = captureTrackedMutation({
      analytics,
      path: "project.delete",
      input: scope,
      output: {},
      ctx: { ...ctx, userId: null },
    });
    await analytics.shutdown();

    expect([untracked, anonymous]).toEqual(["untracked", "anonymous"]);
    expect(standin.requests).toHaveLength(0);
  });
});
