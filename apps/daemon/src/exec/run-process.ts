import { spawn } from "node:child_process";
import { constants } from "node:os";

export type RunProcessInput = {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  stdin?: string;
  signal?: AbortSignal;
  onStdout: (text: string) => void;
  onStderr: (text: string) => void;
  /** Called once the command started, with a valve over its output for a consumer that can fall behind. */
  onOutputValve?: (valve: OutputValve) => void;
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
  return new Promise((resolve) => {
    let timedOut = false;
    let settled = false;
    const finish = (exit: Omit<ProcessExit, "durationMs" | "timedOut">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      input.signal?.removeEventListener("abort", killGroup);
      resolve({ ...exit, timedOut, durationMs: Math.round(performance.now() - started) });
    };
    const child = spawn(input.command, input.args, {
      cwd: input.cwd,
      env: { ...process.env, ...input.env },
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    function killGroup() {
      if (child.pid === undefined) return;
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
      finish({ exitCode: 128 + signo, signal });
    });
  });
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
