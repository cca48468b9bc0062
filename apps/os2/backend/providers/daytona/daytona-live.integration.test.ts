/**
 * Against the real Daytona API, only with RUN_DAYTONA_TESTS=true and DAYTONA_API_KEY set (and a snapshot
 * for the stage, from `pnpm snapshot:daytona`). Otherwise vitest reports these tests as skipped, never
 * as passed: the stand-in suites cover the same paths without Daytona.
 */
import { describe, expect, it } from "vitest";

import { computeStage } from "../../stage";
import { TEST_LIMITS } from "../../testing/limits.ts";
import { DaytonaProvider } from "./daytona-provider";
import { fetchThroughPreview } from "./preview-request";
import { defaultSnapshotPrefix, SnapshotResolver } from "./snapshot-resolver";

const apiKey = process.env.DAYTONA_API_KEY?.trim() ?? "";
const live = process.env.RUN_DAYTONA_TESTS === "true" && apiKey !== "";

describe.skipIf(!live)("real Daytona (RUN_DAYTONA_TESTS=true)", () => {
  const apiUrl = process.env.DAYTONA_API_URL?.trim() || "https://app.daytona.io/api";
  const organizationId = process.env.DAYTONA_ORGANIZATION_ID?.trim();
  const stage = live ? computeStage({ ITERATE_USER: process.env.ITERATE_USER, APP_STAGE: process.env.APP_STAGE }) : "";
  const prefix = process.env.DAYTONA_SNAPSHOT_PREFIX?.trim() || defaultSnapshotPrefix(stage);

  it("resolves the newest active snapshot for the stage's prefix", async () => {
    const resolver = new SnapshotResolver({ apiKey, apiUrl, ...(organizationId ? { organizationId } : {}) });
    const snapshot = await resolver.resolve(prefix);
    expect(snapshot.name.startsWith(prefix)).toBe(true);
  });

  it(
    "creates a sandbox, reaches the daemon's /api/health through the preview URL, and deletes it",
    { timeout: 300_000 },
    async () => {
      const provider = new DaytonaProvider({
        apiKey,
        apiUrl,
        ...(organizationId ? { organizationId } : {}),
        snapshotPrefix: prefix,
        autoStopMinutes: 15,
        stage,
      });
      const machineId = `mach_live${Date.now().toString(36)}`;
      const created = await provider.create({
        machineId,
        name: "live-test",
        envVars: { OS2_MACHINE_ID: machineId },
        limits: TEST_LIMITS,
        profile: "standard",
        labels: {
          "os2.managed": "true",
          "os2.installation": "inst_test",
          "os2.machine-id": machineId,
          "os2.project-id": "prj_livetest",
          "os2.stage": stage,
        },
      });
      try {
        const listed = await provider.list({ "os2.machine-id": machineId });
        expect(listed.map((m) => m.externalId)).toEqual([created.externalId]);
        await expect
          .poll(
            async () => {
              const response = await fetchThroughPreview({
                source: provider,
                externalId: created.externalId,
                port: 3000,
                path: "/api/health",
              }).catch(() => null);
              return response?.status;
            },
            { timeout: 120_000, interval: 2_000 },
          )
          .toBe(200);
        const endpoint = await provider.daemonEndpoint(created.externalId, 3000);
        expect((await fetch(`${endpoint.url}/api/health`)).status).not.toBe(200);
      } finally {
        await provider.delete(created.externalId);
      }
    },
  );
});
