import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

import type { Agent, AgentCreateRequest, AgentPreflightResponse, Harness } from "@os2/protocol";

import { badRequest, HttpError } from "../http/errors";
import type { Tmux } from "../tmux/tmux";
import { describePathError } from "../user";
import { foregroundReaderOf } from "./activity";
import { preflight } from "./credentials";
import {
  EXIT_FILE_VAR,
  harnessEnv,
  harnessLaunch,
  INTERACTIVE_TUI,
  recordingExitStatus,
  SCREEN_FILE_VAR,
} from "./harness";
import type { AgentRecord, AgentStore } from "./store";

type CreateAgentInput = Required<Pick<AgentCreateRequest, "harness" | "prompt" | "env">> & {
  name?: string;
  cwd: string;
};

export type AgentServiceOptions = {
  /** Where /proc is mounted (tests point it elsewhere). */
  procRoot?: string;
  /** The env harnesses inherit (through the tmux server); credentials are looked up in it. */
  env?: Record<string, string | undefined>;
  /** A full-screen harness that has drawn nothing for this long is taken to wait for the user. */
  quietAfterMs?: number;
};

/** The most a saved screen read returns: the wrapper saves ~300 lines, but the file is the machine's. */
const MAX_SAVED_SCREEN_BYTES = 256 * 1024;

/**
 * Agents: a persisted definition plus a tmux session named after it. While the session lives, tmux is the
 * source of truth for status; the exit status and last screen the harness leaves are written under the state
 * directory, so `exited` and its code survive the session (a machine restart ends every tmux server).
 */
export class AgentService {
  private readonly procRoot: string;
  private readonly env: Record<string, string | undefined>;
  private readonly quietAfterMs: number;

  constructor(
    private readonly store: AgentStore,
    private readonly tmux: Tmux,
    private readonly stateDir: string,
    options: AgentServiceOptions = {},
  ) {
    this.procRoot = options.procRoot ?? "/proc";
    this.env = options.env ?? process.env;
    this.quietAfterMs = options.quietAfterMs ?? 5_000;
  }

  private exitFile(record: AgentRecord): string {
    return join(this.stateDir, "agent-exit", `${record.id}.status`);
  }

  private screenFile(record: AgentRecord): string {
    return join(this.stateDir, "agent-exit", `${record.id}.screen`);
  }

  private async recordedExitCode(record: AgentRecord): Promise<number | null> {
    const recorded = await readFile(this.exitFile(record), "utf8").catch(() => "");
    return /^\d{1,3}$/.test(recorded) ? Number(recorded) : null;
  }

  /** The credential check for a harness, against the daemon's env merged with the agent's own. */
  preflight(harness: Harness, agentEnv: Record<string, string> = {}): Promise<AgentPreflightResponse> {
    const env = { ...this.env, ...agentEnv };
    return preflight(harness, env, env.HOME ?? homedir());
  }

  private async requireCredentials(harness: Harness, agentEnv: Record<string, string>): Promise<void> {
    const check = await this.preflight(harness, agentEnv);
    if (!check.ready) throw badRequest(check.message ?? "missing credentials", "env");
  }

  async create(input: CreateAgentInput, start: boolean): Promise<Agent> {
    // Refused before anything is saved: a harness that cannot log in would only print an error and exit.
    if (start) await this.requireCredentials(input.harness, input.env);
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
    return this.describe(start ? await this.launch(record) : record);
  }

  async list(): Promise<Agent[]> {
    return Promise.all((await this.store.list()).map((r) => this.describe(r)));
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    return this.store.get(id);
  }

  /** Starting a running agent is a no-op; an exited or stopped one is started afresh with its initial prompt. */
  async start(record: AgentRecord): Promise<Agent> {
    const pane = await this.tmux.paneState(record.tmuxSession);
    if (pane.state === "alive") return this.describe(record);
    await this.requireCredentials(record.harness, record.env);
    if (pane.state === "dead") await this.tmux.killSession(record.tmuxSession);
    return this.describe(await this.launch(record));
  }

  async stop(record: AgentRecord): Promise<Agent> {
    await this.tmux.killSession(record.tmuxSession);
    return this.describe((await this.store.update(record.id, { stoppedAt: new Date().toISOString() })) ?? record);
  }

  async delete(id: string): Promise<boolean> {
    const record = await this.store.get(id);
    if (record) {
      await this.tmux.killSession(record.tmuxSession);
      await rm(this.exitFile(record), { force: true }).catch(() => undefined);
      await rm(this.screenFile(record), { force: true }).catch(() => undefined);
    }
    return this.store.remove(id);
  }

  /** The pane's screen and scrollback; once the session is gone, the last `lines` of the screen it left. */
  async output(record: AgentRecord, lines: number): Promise<string> {
    const live = await this.tmux.capturePane(record.tmuxSession, lines);
    if (live !== undefined) return live;
    const saved = await readTail(this.screenFile(record), MAX_SAVED_SCREEN_BYTES);
    return saved.trimEnd().split("\n").slice(-lines).join("\n");
  }

  async describe(record: AgentRecord): Promise<Agent> {
    const { env, launchedAt: _launched, stoppedAt, ...rest } = record;
    const base = { ...rest, envKeys: Object.keys(env) };
    const pane = await this.tmux.paneState(record.tmuxSession);
    if (pane.state === "alive") {
      const waiting = await this.waitingFor(record);
      return waiting
        ? { ...base, status: "waiting", exitCode: null, statusDetail: waiting }
        : { ...base, status: "running", exitCode: null, statusDetail: null };
    }
    if (pane.state === "dead") {
      const exitCode = pane.exitCode ?? (await this.recordedExitCode(record));
      return { ...base, status: "exited", exitCode, statusDetail: null };
    }
    // No session: stopped by the user, never started, or gone with the tmux server (a machine restart).
    if (stoppedAt) return { ...base, status: "stopped", exitCode: null, statusDetail: null };
    const recorded = await this.recordedExitCode(record);
    if (recorded !== null) return { ...base, status: "exited", exitCode: recorded, statusDetail: null };
    return {
      ...base,
      status: "stopped",
      exitCode: null,
      statusDetail: record.launchedAt
        ? "Its session ended without an exit status, most likely with the machine (stopped or restarted). Start runs it again."
        : null,
    };
  }

  /** Best effort: why a live harness is taken to be waiting for the user, or undefined when it is not. */
  private async waitingFor(record: AgentRecord): Promise<string | undefined> {
    const result = await this.tmux.run([
      "list-panes",
      "-t",
      `=${record.tmuxSession}:`,
      "-F",
      "#{pane_pid}\t#{pane_tty}\t#{window_activity}",
    ]);
    if (result.code !== 0) return undefined;
    const [pid = "", tty = "", activity = ""] = (result.stdout.split("\n")[0] ?? "").split("\t");
    const panePid = Number(pid);
    if (Number.isInteger(panePid) && panePid > 0 && tty.startsWith("/dev/")) {
      const reader = await foregroundReaderOf(this.procRoot, panePid, tty).catch(() => undefined);
      if (reader) return `Waiting for input: ${reader} is reading the terminal.`;
    }
    const lastOutput = Number(activity) * 1000;
    if (INTERACTIVE_TUI[record.harness] && lastOutput > 0) {
      const quietMs = Date.now() - lastOutput;
      if (quietMs >= this.quietAfterMs)
        return `Probably waiting for input: nothing drawn for ${Math.round(quietMs / 1000)} s.`;
    }
    return undefined;
  }

  private async launch(record: AgentRecord): Promise<AgentRecord> {
    const exitFile = this.exitFile(record);
    const screenFile = this.screenFile(record);
    try {
      await rm(exitFile, { force: true });
      await rm(screenFile, { force: true });
      await mkdir(dirname(exitFile), { recursive: true });
    } catch (error) {
      throw new HttpError(500, "internal", `${describePathError("write", exitFile, error)} (OS2_STATE_DIR)`);
    }
    const launched =
      (await this.store.update(record.id, { launchedAt: new Date().toISOString(), stoppedAt: undefined })) ?? record;
    const launch = harnessLaunch(record.harness, record.prompt);
    await this.tmux.ensureSession({
      name: record.tmuxSession,
      cwd: record.cwd,
      command: recordingExitStatus(launch.command),
      env: { ...harnessEnv(record.prompt, record.env), [EXIT_FILE_VAR]: exitFile, [SCREEN_FILE_VAR]: screenFile },
      remainOnExit: true,
    });
    if (launch.typePrompt) await this.tmux.typeLine(record.tmuxSession, record.prompt);
    return launched;
  }
}

/** The last `maxBytes` of a file, or "" when it cannot be read. */
async function readTail(path: string, maxBytes: number): Promise<string> {
  const handle = await open(path, "r").catch(() => undefined);
  if (!handle) return "";
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, size - length);
    return buffer.subarray(0, bytesRead).toString("utf8");
  } catch {
    return "";
  } finally {
    await handle.close();
  }
}
