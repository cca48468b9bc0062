import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { type PostHogStandin, startPostHogStandin } from "../../test-support/posthog-standin/standin.ts";
import { captureMachineFailed, captureMachineReady } from "./machine-events.ts";
import { createServerAnalytics } from "./server-analytics.ts";

let standin: PostHogStandin;
beforeEach(async () => {
  standin = await startPostHogStandin();
});
afterEach(async () => {
  await standin.close();
});

describe("machine lifecycle events", () => {
  it("sends machine_ready with time_to_ready_ms, the provider and the groups", async () => {
    const analytics = createServerAnalytics({ apiKey: "phc_test", host: standin.url, stage: "dev-ana", flushAt: 1 });
    captureMachineReady(analytics, {
      machineId: "mch_1",
      userId: "usr_1",
      organizationId: "org_1",
      projectId: "prj_1",
      provider: "local-docker",
      machineType: "local-docker",
      timeToReadyMs: 4321.7,
    });
    await analytics.shutdown();

    expect(standin.events()).toHaveLength(1);
    expect(standin.events()[0]).toMatchObject({
      event: "machine_ready",
      distinctId: "usr_1",
      properties: {
        machine_id: "mch_1",
        provider: "local-docker",
        machine_type: "local-docker",
        time_to_ready_ms: 4322,
        $environment: "dev-ana",
        $groups: { organization: "org_1", project: "prj_1" },
      },
    });
  });

  it("sends machine_failed with the reason, attributed to the organization when no user is known", async () => {
    const analytics = createServerAnalytics({ apiKey: "phc_test", host: standin.url, stage: "prd", flushAt: 1 });
    captureMachineFailed(analytics, {
      machineId: "mch_2",
      organizationId: "org_1",
      provider: "daytona",
      reason: "timeout",
    });
    await analytics.shutdown();

    const [event] = standin.events();
    expect(event).toMatchObject({
      event: "machine_failed",
      distinctId: "org_1",
      properties: { machine_id: "mch_2", provider: "daytona", reason: "timeout", $process_person_profile: false },
    });
    expect(event?.properties).not.toHaveProperty("time_to_ready_ms");
  });
});
