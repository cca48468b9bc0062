import { execFile } from "node:child_process";

import { withRaisedOomScore } from "./oom-score";

export type CommandResult = { code: number; stdout: string; stderr: string };

/**
 * Runs a short helper command (tmux, s6-svstat, stty) and resolves with its exit code instead of throwing,
 * because "no such session" and friends are ordinary answers here, not failures.
 */
export function runCommand(
  file: string,
  args: string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; oomScoreAdj?: number } = {},
): Promise<CommandResult> {
  // Helpers are not raised by default: they are short-lived, and a shell per call costs.
  const [command, argv] = withRaisedOomScore(file, args, options.oomScoreAdj ?? 0);
  return new Promise((resolve) => {
    execFile(
      command,
      argv,
      { timeout: options.timeoutMs ?? 10_000, env: options.env ?? process.env, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve({ code: 0, stdout, stderr });
        const code = typeof error.code === "number" ? error.code : error.code === "ENOENT" ? 127 : 1;
        resolve({ code, stdout, stderr: stderr || error.message });
      },
    );
  });
}
