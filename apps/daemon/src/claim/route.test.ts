import { stat } from "node:fs/promises";
import { join } from "node:path";

import { execResultSchema } from "@os2/protocol";
import { afterEach, describe, expect, it } from "vitest";

import { createTestDaemon, type TestDaemon } from "../test-support";

const POOL = "pool-credential-0123456789abcdef";
const OWN = "machine-token-0123456789abcdef";

let daemon: TestDaemon;

afterEach(async () => {
  await daemon.call("/api/env", { method: "PUT", json: { env: {} }, auth: false, headers: bearer(OWN) });
  await daemon.cleanup();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function claim(token: string, body: unknown = { token: OWN, env: { OS2_T_CLAIMED: "project-a" } }) {
  return daemon.call("/api/claim", { method: "PUT", json: body, auth: false, headers: bearer(token) });
}

async function execEnv(token: string, key: string) {
  const response = await daemon.call("/api/exec", {
    method: "POST",
    auth: false,
    headers: bearer(token),
    json: { command: "sh", args: ["-c", `printf %s "\${${key}-unset}"`] },
  });
  return { status: response.status, stdout: response.ok ? execResultSchema.parse(await response.json()).stdout : "" };
}

describe("PUT /api/claim", () => {
  it("a pool machine refuses every route but the claim, even with its pool credential", async () => {
    daemon = await createTestDaemon({ authToken: undefined, poolToken: POOL });
    expect((await execEnv(POOL, "HOME")).status).toBe(401);
    const body = await (await daemon.call("/api/ports", { auth: false, headers: bearer(POOL) })).json();
    expect(body.message).toMatch(/warm pool/);
  });

  it("hands the machine its token and env; the pool credential is refused from then on, also for a re-claim", async () => {
    daemon = await createTestDaemon({ authToken: undefined, poolToken: POOL });
    const claimed = await claim(POOL);
    expect(claimed.status).toBe(200);
    expect(await claimed.json()).toEqual({ claimed: true, keys: ["OS2_T_CLAIMED"] });
    expect(await execEnv(OWN, "OS2_T_CLAIMED")).toEqual({ status: 200, stdout: "project-a" });
    expect((await execEnv(POOL, "HOME")).status).toBe(401);
    // No one re-claims it: not with the pool credential, not with the machine's own token.
    expect((await claim(POOL, { token: "another-token-0123456789", env: {} })).status).toBe(409);
    expect((await claim(OWN, { token: "another-token-0123456789", env: {} })).status).toBe(409);
    expect((await execEnv(OWN, "OS2_T_CLAIMED")).status).toBe(200);
  });

  it("a wrong pool credential claims nothing", async () => {
    daemon = await createTestDaemon({ authToken: undefined, poolToken: POOL });
    expect((await claim("not-the-pool-credential")).status).toBe(401);
    expect((await claim(POOL)).status).toBe(200);
  });

  it("a machine that booted with its own token is no pool member: a claim is refused", async () => {
    daemon = await createTestDaemon({ poolToken: POOL });
    expect((await claim(POOL)).status).toBe(409);
  });

  it("rejects a malformed claim naming the field, and stays claimable", async () => {
    daemon = await createTestDaemon({ authToken: undefined, poolToken: POOL });
    const bad = await claim(POOL, { token: "short", env: {} });
    expect(bad.status).toBe(400);
    expect((await bad.json()).field).toBe("token");
    expect((await claim(POOL)).status).toBe(200);
  });

  it("keeps the claimed token in a file only its owner can read; a restarted daemon accepts only it", async () => {
    daemon = await createTestDaemon({ authToken: undefined, poolToken: POOL });
    expect((await claim(POOL)).status).toBe(200);
    const info = await stat(join(daemon.config.stateDir, "claim.json"));
    expect(info.mode & 0o777).toBe(0o600);
    const restarted = daemon.restart();
    const ok = await restarted.call("/api/ports", { auth: false, headers: bearer(OWN) });
    expect(ok.status).toBe(200);
    const pool = await restarted.call("/api/ports", { auth: false, headers: bearer(POOL) });
    expect(pool.status).toBe(401);
  });
});
