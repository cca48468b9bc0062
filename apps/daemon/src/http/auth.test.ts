import { MACHINE_TOKEN_HEADER } from "@os2/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestDaemon, TEST_TOKEN, type TestDaemon } from "../test-support";

describe("machine token", () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    daemon = await createTestDaemon();
  });
  afterAll(() => daemon.cleanup());

  it("leaves /api/health public", async () => {
    const res = await daemon.call("/api/health", { auth: false });
    expect(res.status).toBe(200);
  });

  it("answers 401 without a token, naming how to send one", async () => {
    const res = await daemon.call("/api/tmux/sessions", { auth: false });
    expect(res.status).toBe(401);
    expect((await res.json()).message).toMatch(/Authorization: Bearer/);
  });

  it("answers 401 to a wrong bearer token", async () => {
    const res = await daemon.call("/api/tmux/sessions", { auth: false, headers: { authorization: "Bearer nope" } });
    expect(res.status).toBe(401);
    expect((await res.json()).message).toBe("wrong MACHINE_AUTH_TOKEN");
  });

  it("accepts the bearer token", async () => {
    expect((await daemon.call("/api/tmux/sessions")).status).toBe(200);
  });

  it("accepts the token in X-Os2-Machine-Token on the API routes too, and refuses a wrong one", async () => {
    const ok = await daemon.call("/api/tmux/sessions", {
      auth: false,
      headers: { [MACHINE_TOKEN_HEADER]: TEST_TOKEN },
    });
    expect(ok.status).toBe(200);
    const wrong = await daemon.call("/api/tmux/sessions", { auth: false, headers: { "X-Os2-Machine-Token": "nope" } });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).message).toBe("wrong MACHINE_AUTH_TOKEN");
  });

  it("accepts ?token= and sets a cookie that works on its own afterwards", async () => {
    const res = await daemon.call(`/api/tmux/sessions?token=${TEST_TOKEN}`, { auth: false });
    expect(res.status).toBe(200);
    const cookie = res.headers.get("set-cookie")?.split(";")[0];
    expect(cookie).toMatch(/^os2_machine_token=/);
    const again = await daemon.call("/api/tmux/sessions", { auth: false, headers: { cookie: cookie ?? "" } });
    expect(again.status).toBe(200);
  });

  it("rejects a wrong ?token=", async () => {
    expect((await daemon.call("/api/tmux/sessions?token=wrong", { auth: false })).status).toBe(401);
  });

  it("refuses everything but health when MACHINE_AUTH_TOKEN is unset", async () => {
    const open = await createTestDaemon({ authToken: undefined });
    try {
      const res = await open.call("/api/tmux/sessions", { auth: false });
      expect(res.status).toBe(401);
      expect((await res.json()).message).toMatch(/MACHINE_AUTH_TOKEN is not set/);
      expect((await open.call("/api/health", { auth: false })).status).toBe(200);
    } finally {
      await open.cleanup();
    }
  });

  it("answers unknown routes with a JSON 404", async () => {
    const res = await daemon.call("/api/nope");
    expect(res.status).toBe(404);
    expect((await res.json()).error).toBe("not_found");
  });
});
