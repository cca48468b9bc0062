import { readFileSync } from "node:fs";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { runCommand } from "../process";
import { createTestDaemon, type TestDaemon } from "../test-support";
import { Tmux } from "./tmux";

describe("/api/tmux/sessions", () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    daemon = await createTestDaemon();
  });
  afterAll(() => daemon.cleanup());

  it("knows no tmux server can run before the first session (no socket), and that one may after it", async () => {
    const tmux = new Tmux(daemon.config.tmuxSocket);
    expect(tmux.serverMayRun()).toBe(false);
    expect((await daemon.call("/api/tmux/sessions", { method: "POST", json: { name: "first" } })).status).toBe(201);
    expect(tmux.serverMayRun()).toBe(true);
    expect((await daemon.call("/api/tmux/sessions/first", { method: "DELETE" })).status).toBe(200);
  });

  it("creates a session once and then reports it exists", async () => {
    const first = await daemon.call("/api/tmux/sessions", { method: "POST", json: { name: "work" } });
    expect(first.status).toBe(201);
    expect((await first.json()).created).toBe(true);
    const second = await daemon.call("/api/tmux/sessions", { method: "POST", json: { name: "work" } });
    expect(second.status).toBe(200);
    expect((await second.json()).created).toBe(false);
  });

  it("starts the tmux server, and so every pane (terminals, agents), with oom_score_adj raised to 500", async () => {
    const info = await runCommand("tmux", [
      "-S",
      daemon.config.tmuxSocket ?? "",
      "display-message",
      "-p",
      "-t",
      "=work:",
      "#{pid} #{pane_pid}",
    ]);
    const [serverPid, panePid] = info.stdout.trim().split(" ");
    expect(readFileSync(`/proc/${serverPid}/oom_score_adj`, "utf8").trim()).toBe("500");
    expect(readFileSync(`/proc/${panePid}/oom_score_adj`, "utf8").trim()).toBe("500");
  });

  it("lists sessions", async () => {
    const body = await (await daemon.call("/api/tmux/sessions")).json();
    expect(body.sessions).toEqual([expect.objectContaining({ name: "work", windows: 1, attachedClients: 0 })]);
  });

  it("kills a session, and killing it again still succeeds", async () => {
    expect(await (await daemon.call("/api/tmux/sessions/work", { method: "DELETE" })).json()).toEqual({
      name: "work",
      killed: true,
    });
    expect(await (await daemon.call("/api/tmux/sessions/work", { method: "DELETE" })).json()).toEqual({
      name: "work",
      killed: false,
    });
    expect((await (await daemon.call("/api/tmux/sessions")).json()).sessions).toEqual([]);
  });

  it("answers 400 naming the field for a name tmux cannot use", async () => {
    const res = await daemon.call("/api/tmux/sessions", { method: "POST", json: { name: "a.b:c" } });
    expect(res.status).toBe(400);
    expect((await res.json()).field).toBe("name");
  });
});
