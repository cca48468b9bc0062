import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { type PostHogStandin, startPostHogStandin } from "../../test-support/posthog-standin/standin.ts";
import { createServerAnalytics, dropSensitiveProperties } from "./server-analytics.ts";

// The real posthog-node, only counted: "never constructed" is the guarantee behind "no key, no calls".
const constructed = vi.hoisted(() => ({ count: 0 }));
vi.mock("posthog-node", async (importOriginal) => {
  const actual = await importOriginal<typeof import("posthog-node")>();
  class CountingPostHog extends actual.PostHog {
    constructor(...args: ConstructorParameters<typeof actual.PostHog>) {
      super(...args);
      constructed.count += 1;
    }
  }
  return { ...actual, PostHog: CountingPostHog };
});

let standin: PostHogStandin;
beforeEach(async () => {
  standin = await startPostHogStandin();
  constructed.count = 0;
});
afterEach(async () => {
  await standin.close();
});

describe("createServerAnalytics", () => {
  it("sends events through posthog-node with $environment, groups and the given properties", async () => {
    const analytics = createServerAnalytics({ apiKey: "phc_test", host: standin.url, stage: "pr-42", flushAt: 1 });
    analytics.capture({
      distinctId: "usr_1",
      event: "project_created",
      properties: { project_slug: "web" },
      groups: { organization: "org_1", project: "prj_1" },
    });
    await analytics.shutdown();

    expect(standin.requests.map((r) => [r.method, r.path])).toEqual([["POST", "/batch/"]]);
    expect(standin.events()).toHaveLength(1);
    const [event] = standin.events();
    expect(event).toMatchObject({ event: "project_created", distinctId: "usr_1", apiKey: "phc_test" });
    expect(event?.properties).toMatchObject({
      project_slug: "web",
      $environment: "pr-42",
      $groups: { organization: "org_1", project: "prj_1" },
      $lib: "posthog-node",
    });
  });

  it("drops sensitive property names before they leave the server, nested too", async () => {
    const analytics = createServerAnalytics({ apiKey: "phc_test", host: standin.url, stage: "stg", flushAt: 1 });
    analytics.capture({
      distinctId: "usr_1",
      event: "probe",
      properties: {
        password: "hunter2-SECRET",
        api_token: "tok-SECRET",
        nested: { clientSecret: "cs-SECRET", Authorization: "Bearer SECRET", kept: "ok" },
        list: [{ env_value: "v-SECRET", name: "ok" }],
        $environment: "spoofed",
      },
      groups: { organization: "org_1" },
    });
    await analytics.shutdown();

    const raw = standin.events()[0]?.raw;
    expect(JSON.stringify(raw)).not.toContain("SECRET");
    expect(raw?.properties).toMatchObject({
      nested: { kept: "ok" },
      list: [{ name: "ok" }],
      $environment: "stg",
      $groups: { organization: "org_1" },
    });
  });

  it("with no API key, never constructs posthog-node and sends nothing", async () => {
    const analytics = createServerAnalytics({ host: standin.url, stage: "local-dev" });
    analytics.capture({ distinctId: "usr_1", event: "project_created", groups: { organization: "org_1" } });
    await analytics.shutdown();

    expect(analytics.state).toBe("disabled");
    expect(constructed.count).toBe(0);
    expect(standin.requests).toHaveLength(0);
    // The counter itself works: an enabled client is counted.
    await createServerAnalytics({ apiKey: "phc_test", host: standin.url, stage: "x" }).shutdown();
    expect(constructed.count).toBe(1);
  });

  it("treats an empty API key (an unset variable in a .env file) as no key", async () => {
    const analytics = createServerAnalytics({ apiKey: "", host: standin.url, stage: "local-dev" });
    analytics.capture({ distinctId: "usr_1", event: "x" });
    await analytics.shutdown();
    expect(constructed.count).toBe(0);
    expect(standin.requests).toHaveLength(0);
  });
});

describe("dropSensitiveProperties", () => {
  it("drops names containing password, token, secret, key, value, authorization, cookie or credential", () => {
    const filtered = dropSensitiveProperties({
      userPassword: 1,
      ACCESS_TOKEN: 2,
      secret: 3,
      key: 4,
      apiKey: 5,
      value: 6,
      authorization: 7,
      set_cookie: 8,
      credentials: 9,
      machine_type: "docker",
      is_machine_override: true,
    });
    expect(filtered).toEqual({ machine_type: "docker", is_machine_override: true });
  });

  it("keeps PostHog's $-prefixed names but filters inside them", () => {
    const filtered = dropSensitiveProperties({
      $groups: { organization: "org_1" },
      $environment: "prd",
      $set: { email: "a@example.com", token: "t" },
    });
    expect(filtered).toEqual({
      $groups: { organization: "org_1" },
      $environment: "prd",
      $set: { email: "a@example.com" },
    });
  });

  it("filters objects inside arrays and leaves the input untouched", () => {
    const input = { items: [{ secret_value: "s", id: 1 }, "plain"] };
    expect(dropSensitiveProperties(input)).toEqual({ items: [{ id: 1 }, "plain"] });
    expect(input.items[0]).toEqual({ secret_value: "s", id: 1 });
  });
});
