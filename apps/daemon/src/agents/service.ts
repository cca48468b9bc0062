import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";

import type { Agent, AgentCreateRequest } from "@os2/protocol";

import { HttpError } from "../http/errors";
import type { Tmux } from "../tmux/tmux";
import { describePathError } from "../user";
import { EXIT_FILE_VAR, harnessEnv, harnessLaunch, recordingExitStatus } from "./harness";
import type { AgentRecord, AgentStore } from "./store";

type CreateAgentInput = Required<Pick<AgentCreateRequest, "harness" | "prompt" | "env">> & {
  name?: string;
  cwd: string;
};

/** Agents: a persisted definition plus a tmux session named after it; tmux is the source of truth for status. */
export class AgentService {
  constructor(
    private readonly store: AgentStore,
    private readonly tmux: Tmux,
    private readonly stateDir: string,
  ) {}

  private exitFile(record: AgentRecord): string {
    return join(this.stateDir, "agent-exit", `${record.id}.status`);
  }

  private async exitCodeOf(record: AgentRecord, fromTmux: number | null): Promise<number | null> {
    if (fromTmux !== null) return fromTmux;
    const recorded = await readFile(this.exitFile(record), "utf8").catch(() => "");
    return /^\d+$/.test(recorded) ? Number(recorded) : null;
  }

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
    const exitCode = pane.state === "dead" ? await this.exitCodeOf(record, pane.exitCode) : null;
    return { ...rest, envKeys: Object.keys(env), status, exitCode };
  }

  private async launch(record: AgentRecord): Promise<void> {
    const launch = harnessLaunch(record.harness, record.prompt);
    const exitFile = this.exitFile(record);
    try {
      await rm(exitFile, { force: true });
      await mkdir(dirname(exitFile), { recursive: true });
    } catch (error) {
      throw new HttpError(500, "internal", `${describePathError("write", exitFile, error)} (OS2_STATE_DIR)`);
    }
    await this.tmux.ensureSession({
      name: record.tmuxSession,
      cwd: record.cwd,
      command: recordingExitStatus(launch.command),
      env: { ...harnessEnv(record.prompt, record.env), [EXIT_FILE_VAR]: exitFile },
      remainOnExit: true,
    });
    if (launch.typePrompt) await this.tmux.typeLine(record.tmuxSession, record.prompt);
  }
}
