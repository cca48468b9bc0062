import { type Agent, agentOutputResponseSchema, agentSchema, tmuxListResponseSchema } from "@os2/protocol";
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

describe("/api/agents", () => {
  let daemon: TestDaemon;
  let agent: Agent;
  beforeAll(async () => {
    daemon = await createTestDaemon();
  });
  afterAll(() => daemon.cleanup());

  const output = async (d: TestDaemon, id: string) =>
    agentOutputResponseSchema.parse(await (await d.call(`/api/agents/${id}/output`)).json()).text;

  it("runs a shell agent's initial prompt in its own tmux session", async () => {
    const res = await daemon.call("/api/agents", {
      method: "POST",
      json: { harness: "shell", prompt: "echo agent-$((40+2))", name: "sh" },
    });
    expect(res.status).toBe(201);
    agent = agentSchema.parse(await res.json());
    expect(agent).toMatchObject({ status: "running", harness: "shell", cwd: daemon.config.workspaceDir });
    const { sessions } = tmuxListResponseSchema.parse(await (await daemon.call("/api/tmux/sessions")).json());
    expect(sessions.map((s) => s.name)).toContain(agent.tmuxSession);
    expect(
      await waitFor(
        () => output(daemon, agent.id),
        (t) => t.includes("agent-42"),
      ),
    ).toContain("agent-42");
  });

  it("keeps the agent after a daemon restart, still running in tmux", async () => {
    const restarted = daemon.restart();
    const list = (await (await restarted.call("/api/agents")).json()).agents;
    expect(list).toEqual([expect.objectContaining({ id: agent.id, status: "running" })]);
    expect(await output(restarted, agent.id)).toContain("agent-42");
  });

  it("stops and starts an agent", async () => {
    expect((await (await daemon.call(`/api/agents/${agent.id}/stop`, { method: "POST" })).json()).status).toBe(
      "stopped",
    );
    expect((await (await daemon.call(`/api/agents/${agent.id}/start`, { method: "POST" })).json()).status).toBe(
      "running",
    );
  });

  it("reports an agent whose harness ended as exited with its exit code", async () => {
    const res = await daemon.call("/api/agents", { method: "POST", json: { harness: "shell", prompt: "exit 7" } });
    const created = agentSchema.parse(await res.json());
    const done = await waitFor(
      async () => agentSchema.parse(await (await daemon.call(`/api/agents/${created.id}`)).json()),
      (a) => a.status === "exited",
    );
    expect(done).toMatchObject({ status: "exited", exitCode: 7 });
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
