import { execFileSync } from "node:child_process";

import {
  type Agent,
  agentOutputResponseSchema,
  agentPreflightResponseSchema,
  agentSchema,
  tmuxListResponseSchema,
} from "@os2/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestDaemon, type TestDaemon } from "../test-support";

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const CLAUDE_CREDENTIALS = ["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN"];
const PROVIDER_SWITCHES = ["CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX"];

describe("/api/agents", () => {
  let daemon: TestDaemon;
  let agent: Agent;
  const saved: Record<string, string | undefined> = {};
  beforeAll(async () => {
    // The host's own credentials must not make "missing" tests pass or fail.
    for (const key of [...CLAUDE_CREDENTIALS, ...PROVIDER_SWITCHES]) {
      saved[key] = process.env[key];
      delete process.env[key];
    }
    daemon = await createTestDaemon();
  });
  afterAll(async () => {
    await daemon.cleanup();
    for (const [key, value] of Object.entries(saved)) if (value !== undefined) process.env[key] = value;
  });

  const output = async (d: TestDaemon, id: string) =>
    agentOutputResponseSchema.parse(await (await d.call(`/api/agents/${id}/output`)).json()).text;
  const describeAgent = async (d: TestDaemon, id: string) =>
    agentSchema.parse(await (await d.call(`/api/agents/${id}`)).json());
  const create = async (json: Record<string, unknown>) => {
    const res = await daemon.call("/api/agents", { method: "POST", json });
    expect(res.status).toBe(201);
    return agentSchema.parse(await res.json());
  };
  /** What a machine restart does to agents: the tmux server and every session in it are gone. */
  const killTmuxServer = () => {
    execFileSync("tmux", ["-S", daemon.config.tmuxSocket ?? "", "kill-server"]);
  };

  it("runs a shell agent's prompt in its own tmux session, and reports it waiting while it reads the terminal", async () => {
    agent = await create({ harness: "shell", prompt: "echo agent-$((40+2)); read line; echo got:$line", name: "sh" });
    expect(agent).toMatchObject({ harness: "shell", cwd: daemon.config.workspaceDir });
    expect(["running", "waiting"]).toContain(agent.status);
    const { sessions } = tmuxListResponseSchema.parse(await (await daemon.call("/api/tmux/sessions")).json());
    expect(sessions.map((s) => s.name)).toContain(agent.tmuxSession);
    expect(
      await waitFor(
        () => output(daemon, agent.id),
        (t) => t.includes("agent-42"),
      ),
    ).toContain("agent-42");
    const waiting = await waitFor(
      () => describeAgent(daemon, agent.id),
      (a) => a.status === "waiting",
    );
    expect(waiting).toMatchObject({ status: "waiting", exitCode: null });
    expect(waiting.statusDetail).toMatch(/bash is reading the terminal/);
  });

  it("reports a shell agent whose command has finished as waiting at its prompt, not running", async () => {
    const idle = await create({ harness: "shell", prompt: "echo idle-$((0+1))" });
    const waiting = await waitFor(
      () => describeAgent(daemon, idle.id),
      (a) => a.status === "waiting",
    );
    expect(waiting).toMatchObject({
      status: "waiting",
      statusDetail: "Waiting for input: bash is reading the terminal.",
    });
    expect(await output(daemon, idle.id)).toContain("idle-1");
    await daemon.call(`/api/agents/${idle.id}`, { method: "DELETE" });
  });

  it("reports a harness that sleeps as running, not waiting", async () => {
    const sleeper = await create({ harness: "shell", prompt: "sleep 30" });
    await new Promise((r) => setTimeout(r, 500));
    expect(await describeAgent(daemon, sleeper.id)).toMatchObject({ status: "running", statusDetail: null });
    await daemon.call(`/api/agents/${sleeper.id}`, { method: "DELETE" });
  });

  it("keeps the agent after a daemon restart, still alive in tmux", async () => {
    const restarted = daemon.restart();
    const list = (await (await restarted.call("/api/agents")).json()).agents;
    expect(list).toEqual([expect.objectContaining({ id: agent.id, status: "waiting" })]);
    expect(await output(restarted, agent.id)).toContain("agent-42");
  });

  it("stops and starts an agent", async () => {
    expect(await describeAgent(daemon, agent.id)).toMatchObject({ status: "waiting" });
    const stopped = agentSchema.parse(
      await (await daemon.call(`/api/agents/${agent.id}/stop`, { method: "POST" })).json(),
    );
    expect(stopped).toMatchObject({ status: "stopped", statusDetail: null });
    const started = agentSchema.parse(
      await (await daemon.call(`/api/agents/${agent.id}/start`, { method: "POST" })).json(),
    );
    expect(["running", "waiting"]).toContain(started.status);
  });

  it("reports an agent whose harness ended as exited with its exit code", async () => {
    const created = await create({ harness: "shell", prompt: "echo bye-$((6+1)); exit 7" });
    const done = await waitFor(
      () => describeAgent(daemon, created.id),
      (a) => a.status === "exited",
    );
    expect(done).toMatchObject({ status: "exited", exitCode: 7 });
  });

  it("keeps an exited agent's code and last screen when its tmux session is gone, as after a machine restart", async () => {
    const created = await create({ harness: "shell", prompt: "echo last-$((2+3)); exit 3" });
    await waitFor(
      () => describeAgent(daemon, created.id),
      (a) => a.status === "exited",
    );
    // The pane is dead only once the wrapper has saved the screen and then the exit status.
    killTmuxServer();
    const restarted = daemon.restart();
    expect(await describeAgent(restarted, created.id)).toMatchObject({ status: "exited", exitCode: 3 });
    expect(await output(restarted, created.id)).toContain("last-5");
    // The agent that was alive when the server went has no recorded exit: stopped, saying why.
    const lost = await describeAgent(restarted, agent.id);
    expect(lost).toMatchObject({ status: "stopped", exitCode: null });
    expect(lost.statusDetail).toMatch(/ended without an exit status/);
  });

  it("attaching a terminal to an agent's session that is gone is a 404, not a fresh shell", async () => {
    const res = await daemon.call(`/api/pty/ws?tmuxSession=${agent.tmuxSession}`);
    expect(res.status).toBe(404);
    expect((await res.json()).message).toMatch(/start the agent first/);
    expect(await describeAgent(daemon, agent.id)).toMatchObject({ status: "stopped" });
  });

  it("refuses to start Claude Code without a credential, saying which variable and where to set it", async () => {
    const before = ((await (await daemon.call("/api/agents")).json()).agents as unknown[]).length;
    const res = await daemon.call("/api/agents", { method: "POST", json: { harness: "claude-code", prompt: "hi" } });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.field).toBe("env");
    expect(body.message).toMatch(
      /Claude Code needs ANTHROPIC_API_KEY \(or CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_AUTH_TOKEN\)/,
    );
    expect(body.message).toMatch(/Env vars/);
    // Nothing was saved.
    expect(((await (await daemon.call("/api/agents")).json()).agents as unknown[]).length).toBe(before);
    const check = agentPreflightResponseSchema.parse(
      await (await daemon.call("/api/agents/preflight?harness=claude-code")).json(),
    );
    expect(check).toMatchObject({ ready: false, missing: CLAUDE_CREDENTIALS, message: body.message });
  });

  it("lets Claude Code start with a key in the agent's env, and says other harnesses need no check", async () => {
    const res = await daemon.call("/api/agents", {
      method: "POST",
      json: { harness: "claude-code", env: { ANTHROPIC_API_KEY: "sk-test" }, start: false },
    });
    expect(res.status).toBe(201);
    const ok = agentPreflightResponseSchema.parse(
      await (await daemon.call("/api/agents/preflight?harness=opencode")).json(),
    );
    expect(ok).toMatchObject({ ready: true, message: null });
    expect((await daemon.call("/api/agents/preflight?harness=cursor")).status).toBe(400);
  });

  it("deletes an agent and its session, idempotently", async () => {
    expect(await (await daemon.call(`/api/agents/${agent.id}`, { method: "DELETE" })).json()).toEqual({
      id: agent.id,
      deleted: true,
    });
    expect(await (await daemon.call(`/api/agents/${agent.id}`, { method: "DELETE" })).json()).toEqual({
      id: agent.id,
      deleted: false,
    });
    expect((await daemon.call(`/api/agents/${agent.id}`)).status).toBe(404);
  });

  it("answers 400 listing the valid harnesses for an unknown one", async () => {
    const res = await daemon.call("/api/agents", { method: "POST", json: { harness: "cursor" } });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.field).toBe("harness");
    expect(body.message).toBe("harness: must be one of: claude-code, opencode, pi, shell");
  });

  it("answers 400 for a cwd that does not exist", async () => {
    const res = await daemon.call("/api/agents", { method: "POST", json: { harness: "shell", cwd: "/no/such/dir" } });
    expect(res.status).toBe(400);
    expect((await res.json()).field).toBe("cwd");
  });
});
