import { existsSync } from "node:fs";
import { join } from "node:path";

import type { TmuxSession } from "@os2/protocol";

import { type CommandResult, runCommand } from "../process";
import { describeUser } from "../user";

export type PaneState = { state: "alive" } | { state: "dead"; exitCode: number | null } | { state: "missing" };

export type NewSessionInput = {
  name: string;
  cwd: string;
  /** argv of the pane's process; tmux runs it without a shell. Empty means the default shell. */
  command?: string[];
  env?: Record<string, string>;
  /** Keep the pane after its process exits, so its exit status and last screen stay readable. */
  remainOnExit?: boolean;
};

const SESSION_FORMAT = "#{session_name}\t#{session_windows}\t#{session_attached}\t#{session_created}";

/**
 * Thin wrapper over the tmux CLI. Sessions live in the tmux server, not in the daemon, which is why terminals
 * and agents survive a daemon restart. `=name` targets match session names exactly (no prefix matching).
 */
export class Tmux {
  /**
   * @param oomScoreAdj the `oom_score_adj` of the tmux server, which every pane (terminals, agents)
   * inherits: the server is forked by the `new-session` client that finds none running, so that client starts
   * raised (see `oom-score.ts`).
   */
  constructor(
    private readonly socket: string | undefined,
    readonly oomScoreAdj = 0,
  ) {}

  /** argv prefix for any tmux invocation; `-u` keeps UTF-8 even where the locale is not set. */
  baseArgs(): string[] {
    return this.socket ? ["-u", "-S", this.socket] : ["-u"];
  }

  /**
   * False only when no tmux server can be running: its socket does not exist (tmux creates it when the
   * server starts). Lets callers skip spawning a tmux client on the paths that every boot and claim take.
   */
  serverMayRun(): boolean {
    const uid = process.getuid?.() ?? 0;
    const socket = this.socket ?? join(process.env.TMUX_TMPDIR ?? "/tmp", `tmux-${uid}`, "default");
    return existsSync(socket);
  }

  run(args: string[], options: { oomScoreAdj?: number } = {}): Promise<CommandResult> {
    return runCommand("tmux", [...this.baseArgs(), ...args], options);
  }

  async listSessions(): Promise<TmuxSession[]> {
    const result = await this.run(["list-sessions", "-F", SESSION_FORMAT]);
    if (result.code !== 0) return []; // "no server running" is the empty list.
    return result.stdout.split("\n").filter(Boolean).map(parseSessionLine);
  }

  async getSession(name: string): Promise<TmuxSession | undefined> {
    return (await this.listSessions()).find((s) => s.name === name);
  }

  async hasSession(name: string): Promise<boolean> {
    return (await this.run(["has-session", "-t", `=${name}`])).code === 0;
  }

  /** Creates the session unless one of that name exists; returns whether it created it. */
  async ensureSession(input: NewSessionInput): Promise<boolean> {
    if (await this.hasSession(input.name)) return false;
    const envArgs = Object.entries(input.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    const args = ["new-session", "-d", "-s", input.name, "-c", input.cwd, "-x", "200", "-y", "50", ...envArgs];
    if (input.command?.length) args.push("--", ...input.command);
    // Chained with ";" so the option is set before the server reaps a process that exits at once.
    if (input.remainOnExit) args.push(";", "set-option", "-w", "-t", `=${input.name}:`, "remain-on-exit", "on");
    // new-session is the only command the daemon sends that starts a server.
    const result = await this.run(args, { oomScoreAdj: this.oomScoreAdj });
    if (result.code === 0) return true;
    if (/duplicate session/.test(result.stderr)) return false; // Lost a race with a concurrent ensure.
    throw new Error(
      `tmux new-session ${input.name} failed: ${result.stderr.trim()} (socket ${this.socket ?? "tmux's default, under $TMUX_TMPDIR or /tmp"}; the daemon runs as ${describeUser()})`,
    );
  }

  async killSession(name: string): Promise<boolean> {
    return (await this.run(["kill-session", "-t", `=${name}`])).code === 0;
  }

  async paneState(name: string): Promise<PaneState> {
    // tmux marks a pane dead a moment before it records the exit status; ask again briefly for the code.
    for (let attempt = 0; ; attempt++) {
      const result = await this.run(["list-panes", "-t", `=${name}:`, "-F", "#{pane_dead}\t#{pane_dead_status}"]);
      if (result.code !== 0) return { state: "missing" };
      const [dead, status] = (result.stdout.split("\n")[0] ?? "").split("\t");
      if (dead !== "1") return { state: "alive" };
      if (status || attempt >= 5) return { state: "dead", exitCode: status ? Number(status) : null };
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Types literal text into the session's active pane, then presses Enter. */
  async typeLine(name: string, text: string): Promise<void> {
    await this.run(["send-keys", "-t", `=${name}:`, "-l", text]);
    await this.run(["send-keys", "-t", `=${name}:`, "Enter"]);
  }

  async capturePane(name: string, lines: number): Promise<string | undefined> {
    const result = await this.run(["capture-pane", "-p", "-J", "-t", `=${name}:`, "-S", `-${lines}`]);
    return result.code === 0 ? result.stdout : undefined;
  }
}

function parseSessionLine(line: string): TmuxSession {
  const [name = "", windows = "0", attached = "0", created = "0"] = line.split("\t");
  return {
    name,
    windows: Number(windows),
    attachedClients: Number(attached),
    createdAt: new Date(Number(created) * 1000).toISOString(),
  };
}
