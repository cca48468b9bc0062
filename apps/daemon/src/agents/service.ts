import { randomBytes } from "node:crypto";
import type { Agent, AgentCreateRequest } from "@os2/protocol";
import type { Tmux } from "../tmux/tmux";
import { harnessEnv, harnessLaunch } from "./harness";
import type { AgentRecord, AgentStore } from "./store";

type CreateAgentInput = Required<Pick<AgentCreateRequest, "harness" | "prompt" | "env">> & { name?: string; cwd: string };

/** Agents: a persisted definition plus a tmux session named after it; tmux is the source of truth for status. */
export class AgentService {
  constructor(
    private readonly store: AgentStore,
    private readonly tmux: Tmux,
  ) {}

  async create(input: CreateAgentInput, start: boolean): Promise<Agent> {
    const id = `agt_${Date.now().toString(36)}${randomBytes(4).toString("hex")}`;
    const record: AgentRecord = {
      id,
      name: input.name ?? `${input.harness}-${id.slice(-6)}`,
      harness: input.harness,
      cwd: input.cwd,
      prompt: input.prompt,
      env: input.env,
      tmuxSession: `agent-${id.replace(/^agt_/, "")}`,
      createdAt: new Date().toISOString(),
    };
    await this.store.add(record);
    if (start) await this.launch(record);
    return this.describe(record);
  }

  async list(): Promise<Agent[]> {
    return Promise.all((await this.store.list()).map((r) => this.describe(r)));
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    return this.store.get(id);
  }

  /** Starting a running agent is a no-op; an exited one is started afresh with its initial prompt. */
  async start(record: AgentRecord): Promise<Agent> {
    const pane = await this.tmux.paneState(record.tmuxSession);
    if (pane.state === "dead") await this.tmux.killSession(record.tmuxSession);
    if (pane.state !== "alive") await this.launch(record);
    return this.describe(record);
  }

  async stop(record: AgentRecord): Promise<Agent> {
    await this.tmux.killSession(record.tmuxSession);
    return this.describe(record);
  }

  async delete(id: string): Promise<boolean> {
    const record = await this.store.get(id);
    if (record) await this.tmux.killSession(record.tmuxSession);
    return this.store.remove(id);
  }

  tmuxCapture(session: string, lines: number): Promise<string | undefined> {
    return this.tmux.capturePane(session, lines);
  }

  async describe(record: AgentRecord): Promise<Agent> {
    const pane = await this.tmux.paneState(record.tmuxSession);
    const status = pane.state === "alive" ? "running" : pane.state === "dead" ? "exited" : "stopped";
    const { env, ...rest } = record;
    return { ...rest, envKeys: Object.keys(env), status, exitCode: pane.state === "dead" ? pane.exitCode : null };
  }

  private async launch(record: AgentRecord): Promise<void> {
    const launch = harnessLaunch(record.harness, record.prompt);
    await this.tmux.ensureSession({
      name: record.tmuxSession,
      cwd: record.cwd,
      command: launch.command,
      env: harnessEnv(record.prompt, record.env),
      remainOnExit: true,
    });
    if (launch.typePrompt) await this.tmux.typeLine(record.tmuxSession, record.prompt);
  }
}
