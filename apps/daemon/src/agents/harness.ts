import type { Harness } from "@os2/protocol";

/** How each harness starts in its tmux pane. The prompt travels as an env var so no quoting can break it. */
export type HarnessLaunch = {
  /** argv for the pane's process. */
  command: string[];
  /** For `shell`: the prompt is typed into the shell after it starts, like a person would. */
  typePrompt: boolean;
};

const PROMPT_VAR = "OS2_AGENT_PROMPT";
export const EXIT_FILE_VAR = "OS2_AGENT_EXIT_FILE";

/**
 * Runs the harness and writes its exit status to $OS2_AGENT_EXIT_FILE. tmux's own #{pane_dead_status}
 * is sometimes empty for a process that ends moments after it starts (seen with tmux 3.3a), so the
 * daemon reads the file when tmux has no status.
 */
export function recordingExitStatus(command: string[]): string[] {
  return [
    "bash",
    "-c",
    `"$@"; code=$?; printf '%s' "$code" > "$${EXIT_FILE_VAR}"; exit "$code"`,
    "os2-agent",
    ...command,
  ];
}

// `exec` so the harness is the pane's process and its exit status is the pane's dead status.
const viaLoginShell = (withPrompt: string, withoutPrompt: string, prompt: string): string[] => [
  "bash",
  "-lc",
  prompt ? withPrompt : withoutPrompt,
];

export function harnessLaunch(harness: Harness, prompt: string): HarnessLaunch {
  switch (harness) {
    case "shell":
      return { command: ["bash", "-l"], typePrompt: prompt.length > 0 };
    case "claude-code":
      return { command: viaLoginShell(`exec claude "$${PROMPT_VAR}"`, "exec claude", prompt), typePrompt: false };
    case "opencode":
      return {
        command: viaLoginShell(`exec opencode --prompt "$${PROMPT_VAR}"`, "exec opencode", prompt),
        typePrompt: false,
      };
    case "pi":
      return { command: viaLoginShell(`exec pi "$${PROMPT_VAR}"`, "exec pi", prompt), typePrompt: false };
  }
}

export function harnessEnv(prompt: string, env: Record<string, string>): Record<string, string> {
  return { ...env, [PROMPT_VAR]: prompt };
}
