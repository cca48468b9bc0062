import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { readFile, readlink } from "node:fs/promises";

import { withRaisedOomScore } from "../oom-score";
import { runCommand } from "../process";

export type TerminalSize = { cols: number; rows: number };

/**
 * A terminal attached to a tmux session without a native pty addon (see docs/decisions/0002-daemon-terminal.md).
 * util-linux `script` allocates the pseudo-terminal and relays bytes over plain pipes; the tmux client runs on
 * its slave side. Resizing sets the slave's window size with `stty -F`, and the kernel then sends SIGWINCH
 * to the tmux client, exactly as a terminal emulator's resize would.
 */
export class TmuxTerminal {
  private ttyPath: Promise<string | undefined> | undefined;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {}

  static open(input: { tmuxArgs: string[]; session: string; size: TerminalSize; oomScoreAdj?: number }): TmuxTerminal {
    // Session names are validated to [A-Za-z0-9_-], and tmux args are quoted, so this shell line is safe.
    const tmux = ["tmux", ...input.tmuxArgs, "attach-session", "-t", `=${input.session}`].map(shellQuote).join(" ");
    const line = `stty rows ${input.size.rows} cols ${input.size.cols} 2>/dev/null; exec ${tmux}`;
    // Raised like every child (oom-score.ts); `exec` keeps `script` this very process, which findTty relies on.
    const [file, args] = withRaisedOomScore("script", ["-qfc", line, "/dev/null"], input.oomScoreAdj ?? 0);
    const child = spawn(file, args, {
      env: { ...process.env, TERM: "xterm-256color", LANG: process.env.LANG ?? "C.UTF-8" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    return new TmuxTerminal(child);
  }

  onData(listener: (data: Buffer) => void): void {
    this.child.stdout.on("data", listener);
  }

  onExit(listener: (code: number | null) => void): void {
    this.child.on("close", (code) => listener(code));
    this.child.on("error", () => listener(null));
  }

  /** Stops reading the terminal's output: the pty fills and tmux holds back, as for a slow terminal. */
  pause(): void {
    this.child.stdout.pause();
  }

  resume(): void {
    this.child.stdout.resume();
  }

  write(data: string | Uint8Array): void {
    if (this.child.stdin.writable) this.child.stdin.write(data);
  }

  async resize(size: TerminalSize): Promise<void> {
    const tty = await this.findTty();
    if (tty) await runCommand("stty", ["-F", tty, "rows", String(size.rows), "cols", String(size.cols)]);
  }

  /** Detaches the tmux client; the session and whatever runs in it keep going. */
  close(): void {
    if (this.child.exitCode === null) this.child.kill("SIGTERM");
  }

  /** The slave side is the stdin of `script`'s only child (the shell that became the tmux client). */
  private findTty(): Promise<string | undefined> {
    this.ttyPath ??= (async () => {
      const pid = this.child.pid;
      if (pid === undefined) return undefined;
      for (let attempt = 0; attempt < 50; attempt++) {
        const children = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "");
        const childPid = children.trim().split(/\s+/)[0];
        if (childPid) return readlink(`/proc/${childPid}/fd/0`).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 10));
      }
      return undefined;
    })();
    return this.ttyPath;
  }
}

const shellQuote = (s: string) => (/^[A-Za-z0-9_\-=./:]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
