import { spawn } from "node:child_process";
import { accessSync, constants as fs, statSync } from "node:fs";
import { constants } from "node:os";
import { delimiter, resolve } from "node:path";

import { withRaisedOomScore } from "../oom-score";

export type RunProcessInput = {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  stdin?: string | Buffer;
  signal?: AbortSignal;
  onStdout: (text: string) => void;
  onStderr: (text: string) => void;
  /** Called once the command started, with a valve over its output for a consumer that can fall behind. */
  onOutputValve?: (valve: OutputValve) => void;
  /** The command's `oom_score_adj` (see `oom-score.ts`); 0 or unset leaves the daemon's. */
  oomScoreAdj?: number;
  /** The command died of a SIGKILL the daemon did not send (a timeout or disconnect): the OOM killer's, usually. */
  onForeignSigkill?: (pid: number) => void;
};

/**
 * Stops and restarts reading the command's stdout and stderr. While paused, the pipes fill and the command
 * blocks in write(), so a fast producer waits for a slow reader instead of filling the daemon's memory.
 */
export type OutputValve = { pause: () => void; resume: () => void };

export type ProcessExit = { exitCode: number; signal: string | null; timedOut: boolean; durationMs: number };

/** Exit codes follow the shell's conventions so callers can treat exec like `bash -c`. */
const EXIT_NOT_FOUND = 127;
const EXIT_NOT_EXECUTABLE = 126;
const EXIT_TIMEOUT = 124;

/**
 * Runs one command without a shell. A missing binary or a permission error becomes an exit code (127, 126)
 * plus a stderr line instead of an exception, as a shell would report it. The command gets its own process
 * group so a timeout or a disconnect kills everything it started, not just the first process.
 */
export function runProcess(input: RunProcessInput): Promise<ProcessExit> {
  const started = performance.now();
  const env = { ...process.env, ...input.env };
  // Looked up here rather than left to the wrapper shell, so a missing binary reads as before: 127 and
  // "<command>: command not found", not the shell's own message.
  const lookup = findExecutable(input.command, env.PATH, input.cwd);
  if (lookup !== "found") {
    const exitCode = lookup === "not-found" ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE;
    input.onStderr(`${input.command}: ${lookup === "not-found" ? "command not found" : "permission denied"}\n`);
    return Promise.resolve({ exitCode, signal: null, timedOut: false, durationMs: 0 });
  }
  return new Promise((resolve) => {
    let timedOut = false;
    let killedByUs = false;
    let settled = false;
    const finish = (exit: Omit<ProcessExit, "durationMs" | "timedOut">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      input.signal?.removeEventListener("abort", killGroup);
      resolve({ ...exit, timedOut, durationMs: Math.round(performance.now() - started) });
    };
    const [file, args] = withRaisedOomScore(input.command, input.args, input.oomScoreAdj ?? 0);
    const child = spawn(file, args, {
      cwd: input.cwd,
      env,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    function killGroup() {
      if (child.pid === undefined) return;
      killedByUs = true;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, input.timeoutMs);
    input.signal?.addEventListener("abort", killGroup, { once: true });

    pipeText(child.stdout, input.onStdout);
    pipeText(child.stderr, input.onStderr);
    input.onOutputValve?.({
      pause: () => {
        child.stdout.pause();
        child.stderr.pause();
      },
      resume: () => {
        child.stdout.resume();
        child.stderr.resume();
      },
    });
    child.stdin.on("error", () => {}); // The command may exit without reading its stdin (EPIPE).
    child.stdin.end(input.stdin ?? "");

    child.on("error", (error: NodeJS.ErrnoException) => {
      const exitCode = error.code === "ENOENT" ? EXIT_NOT_FOUND : error.code === "EACCES" ? EXIT_NOT_EXECUTABLE : 1;
      const reason =
        exitCode === EXIT_NOT_FOUND
          ? "command not found"
          : exitCode === EXIT_NOT_EXECUTABLE
            ? "permission denied"
            : error.message;
      input.onStderr(`${input.command}: ${reason}\n`);
      finish({ exitCode, signal: null });
    });
    child.on("close", (code, signal) => {
      if (timedOut) return finish({ exitCode: EXIT_TIMEOUT, signal });
      if (code !== null) return finish({ exitCode: code, signal: null });
      const signo = signal ? constants.signals[signal] : 0;
      if (signal === "SIGKILL" && !killedByUs && child.pid !== undefined) input.onForeignSigkill?.(child.pid);
      finish({ exitCode: 128 + signo, signal });
    });
  });
}

/**
 * Where `execvp` would find `command`: a path (with a slash) as it is, else the first executable file of
 * that name in `PATH`. A match that is not executable (or a directory) is "not-executable", as for a shell.
 */
export function findExecutable(
  command: string,
  pathVar: string | undefined,
  cwd: string,
): "found" | "not-found" | "not-executable" {
  const candidates = command.includes("/")
    ? [resolve(cwd, command)]
    : (pathVar ?? "/usr/local/bin:/usr/bin:/bin").split(delimiter).map((dir) => resolve(cwd, dir || ".", command));
  let denied = false;
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) {
        denied = true;
        continue;
      }
      accessSync(candidate, fs.X_OK);
      return "found";
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EACCES") denied = true;
    }
  }
  return denied ? "not-executable" : "not-found";
}

function pipeText(stream: NodeJS.ReadableStream, onText: (text: string) => void) {
  // One decoder per stream: a multi-byte character split across chunks must not turn into U+FFFD.
  const decoder = new TextDecoder();
  stream.on("data", (chunk: Buffer) => {
    const text = decoder.decode(chunk, { stream: true });
    if (text) onText(text);
  });
  stream.on("end", () => {
    const rest = decoder.decode();
    if (rest) onText(rest);
  });
}
