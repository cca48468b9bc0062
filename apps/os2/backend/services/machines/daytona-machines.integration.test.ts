/**
 * Daytona machines end to end through os2: the real @daytonaio/sdk talks to the local Daytona stand-in,
 * whose sandboxes are real containers of the sandbox image and whose preview proxy demands the token.
 * create → running (daemon health through the preview) → exec and terminal through the os2 proxy → a
 * rotated preview token is refreshed once → delete.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type DaytonaStandin, startDaytonaStandin } from "../../../test-support/daytona-standin/index.ts";
import { DaytonaProvider } from "../../providers/daytona/index.ts";
import { LocalDockerProvider } from "../../providers/local-docker/index.ts";
import { createTestOs2, DASHBOARD_ORIGIN, type TestOs2 } from "../../testing/harness.ts";
import { docker, openTerminal, setUpProject, waitForObservedState } from "../../testing/machine-fixtures.ts";
import { DatabasePreviewTokenStore } from "./preview-token-store.ts";

const IMAGE = process.env.LOCAL_DOCKER_IMAGE_NAME ?? "iterate-sandbox:local";
const API_KEY = "os2-daytona-e2e-key";

describe("daytona machines through os2", () => {
  let standin: DaytonaStandin;
  let t: TestOs2;
  let fx: Awaited<ReturnType<typeof setUpProject>>;
  let base: string;
  const stage = `dt${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    standin = await startDaytonaStandin({ docker, image: IMAGE, apiKey: API_KEY });
    standin.addSnapshot({ name: `${stage}--20260101-000000`, createdAt: new Date("2026-01-01T00:00:00Z") });
    standin.addSnapshot({ name: `${stage}--20260102-000000`, createdAt: new Date("2026-01-02T00:00:00Z") });
    let store: DatabasePreviewTokenStore | undefined;
    t = await createTestOs2({
      env: { APP_STAGE: stage },
      providers: {
        "local-docker": new LocalDockerProvider({ imageName: IMAGE, stage }),
        daytona: new DaytonaProvider({
          apiKey: API_KEY,
          apiUrl: standin.apiUrl,
          snapshotPrefix: `${stage}--`,
          autoStopMinutes: 15,
          stage,
          // The store needs the database, which exists only once os2 is up: resolve it lazily.
          previewTokenStore: {
            get: (id, port) => store?.get(id, port) ?? Promise.resolve(null),
            set: (id, port, value) => store?.set(id, port, value) ?? Promise.resolve(),
            delete: (id, port) => store?.delete(id, port) ?? Promise.resolve(),
          },
        }),
      },
    });
    store = new DatabasePreviewTokenStore(t.os2.database.db, t.os2.deps.encryptor);
    fx = await setUpProject(t);
    base = await t.listen();
  });
  afterAll(async () => {
    await t?.close();
    await standin?.close();
  });

  it("boots from the newest snapshot and works through the os2 proxy like a local machine", async () => {
    const types = await fx.api.machine.types.query(fx.scope);
    expect(types.find((type) => type.type === "daytona")).toMatchObject({ available: true });

    await fx.api.envVar.set.mutate({ ...fx.scope, key: "WHERE", value: "in-daytona" });
    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "cloud-one", type: "daytona" });
    const byId = () => fx.api.machine.byId.query({ ...fx.scope, machineId: created.id });
    await waitForObservedState(byId, "running", 90_000);
    const info = await fx.api.machine.getPreviewInfo.query({ ...fx.scope, machineId: created.id });
    expect(info.snapshotName).toBe(`${stage}--20260102-000000`);
    expect(info.directUrl).toBeNull();

    const proxy = `${base}/org/${fx.org.slug}/proj/${fx.project.slug}/${created.id}/proxy/3000`;
    const exec = async () =>
      fetch(`${proxy}/api/exec`, {
        method: "POST",
        headers: { cookie: fx.cookie, origin: DASHBOARD_ORIGIN, "content-type": "application/json" },
        body: JSON.stringify({ command: "printenv", args: ["WHERE"] }),
      });
    const first = await exec();
    expect(first.status).toBe(200);
    expect(((await first.json()) as { stdout: string }).stdout).toBe("in-daytona\n");

    // Daytona rotated the token: the proxy gets a 401, refreshes once, and the caller never notices.
    const externalId = (await byId()).externalId ?? "";
    standin.rotatePreviewToken(externalId, 3000);
    const afterRotation = await exec();
    expect(afterRotation.status).toBe(200);

    const terminal = await openTerminal(`${proxy.replace(/^http/, "ws")}/api/pty/ws?cols=80&rows=24&tmuxSession=dt`, {
      cookie: fx.cookie,
      origin: DASHBOARD_ORIGIN,
    });
    terminal.type("echo via-daytona-$((6*7))\r");
    await expect.poll(terminal.screen, { timeout: 15_000 }).toContain("via-daytona-42");
    terminal.close();

    await fx.api.machine.stop.mutate({ ...fx.scope, machineId: created.id });
    expect((await byId()).observedState).toBe("stopped");
    await fx.api.machine.delete.mutate({ ...fx.scope, machineId: created.id });
    expect(standin.sandbox(externalId)?.state ?? "destroyed").toMatch(/destroy/);
  });
});
