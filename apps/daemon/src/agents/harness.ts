import type { Harness } from "@os2/protocol";

const PROMPT_VAR = "OS2_AGENT_PROMPT";
export const EXIT_FILE_VAR = "OS2_AGENT_EXIT_FILE";
export const SCREEN_FILE_VAR = "OS2_AGENT_SCREEN_FILE";
/** Lines of the pane the wrapper saves when the harness ends (its last screen plus some scrollback). */
export const SAVED_SCREEN_LINES = 300;

/**
 * Runs the harness, then saves its last screen to $OS2_AGENT_SCREEN_FILE and its exit status to
 * $OS2_AGENT_EXIT_FILE, in that order (the exit file says the run is over). Both live under the state
 * directory, which survives a machine restart where the tmux session does not. tmux's own
 * #{pane_dead_status} is sometimes empty for a process that ends moments after it starts (seen with tmux
 * 3.3a), so the daemon reads the file when tmux has no status. `tmux` inside the pane reaches the pane's own
 * server through $TMUX.
 */
export function recordingExitStatus(command: string[]): string[] {
  const save = `tmux capture-pane -p -J -S -${SAVED_SCREEN_LINES} -t "$TMUX_PANE" > "$${SCREEN_FILE_VAR}.tmp" 2>/dev/null && mv -f "$${SCREEN_FILE_VAR}.tmp" "$${SCREEN_FILE_VAR}"`;
  return [
    "bash",
    "-c",
    `"$@"; code=$?; ${save}; printf '%s' "$code" > "$${EXIT_FILE_VAR}"; exit "$code"`,
    "os2-agent",
    ...command,
  ];
}

// `exec` so the harness is the login shell's process and its exit status is the wrapper's.
const viaLoginShell = (withPrompt: string, withoutPrompt: string, prompt: string): string[] => [
  "bash",
  "-lc",
  prompt ? withPrompt : withoutPrompt,
];

/** How each harness starts in its tmux pane. */
export type HarnessLaunch = {
  /** argv of the pane's process. The prompt travels as an env var so no quoting can break it. */
  command: string[];
  /**
   * For `shell`: the prompt is typed into an interactive login shell after it starts, like a person would,
   * so the shell stays for the next command (the agent is then `waiting`) until something types `exit`.
   */
  typePrompt: boolean;
};

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

/** Full-screen harnesses redraw while they work (a spinner, a timer); a quiet one waits for the user. */
export const INTERACTIVE_TUI: Record<Harness, boolean> = {
  shell: false,
  "claude-code": true,
  opencode: true,
  pi: true,
};
