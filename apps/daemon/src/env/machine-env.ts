import { readFileSync } from "node:fs";
import { chmod, mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

import type { EnvApplyResponse } from "@os2/protocol";
import { z } from "zod";

import type { Tmux } from "../tmux/tmux";

const storedSchema = z.object({ env: z.record(z.string(), z.string()) });

/**
 * The machine's environment as the control plane last set it (`PUT /api/env`), kept in
 * `<state dir>/env.json` (mode 0600) so it outlives daemon and machine restarts.
 *
 * Applying it changes what every later child gets: the daemon's own `process.env` (exec and agents copy it
 * when they start a process) and the tmux server's global environment (new sessions and terminals copy
 * that). Keys the previous call set and this one does not are removed from both. Processes already running
 * keep what they started with, as they would on any Unix system.
 */
export class MachineEnv {
  private readonly file: string;
  private managed = new Set<string>();

  constructor(
    stateDir: string,
    private readonly tmux: Tmux,
    private readonly target: NodeJS.ProcessEnv = process.env,
  ) {
    this.file = join(stateDir, "env.json");
  }

  /** At daemon start: puts the stored environment back into `process.env` before any child starts. */
  load(): void {
    let raw: string;
    try {
      raw = readFileSync(this.file, "utf8");
    } catch {
      return; // never set: the container's own environment is all there is
    }
    let parsed: z.infer<typeof storedSchema>;
    try {
      parsed = storedSchema.parse(JSON.parse(raw));
    } catch (error) {
      console.error("[daemon] ignoring an unreadable env.json:", error);
      return;
    }
    for (const [key, value] of Object.entries(parsed.env)) this.target[key] = value;
    this.managed = new Set(Object.keys(parsed.env));
  }

  async apply(env: Record<string, string>): Promise<EnvApplyResponse> {
    const removed = [...this.managed].filter((key) => !(key in env));
    // Stored first: if the daemon dies halfway, its next start applies the complete new set.
    await mkdir(dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify({ env }), { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, this.file);
    for (const key of removed) delete this.target[key];
    for (const [key, value] of Object.entries(env)) this.target[key] = value;
    this.managed = new Set(Object.keys(env));
    await this.applyToTmux(env, removed);
    return { keys: Object.keys(env).sort(), removed: removed.sort() };
  }

  /** The tmux server, when one runs, copies its global environment into each new session. */
  private async applyToTmux(env: Record<string, string>, removed: string[]): Promise<void> {
    // No server (no socket, or none answering): the first session starts one with process.env.
    if (!this.tmux.serverMayRun() || (await this.tmux.run(["list-sessions"])).code !== 0) return;
    for (const key of removed) await this.tmux.run(["set-environment", "-g", "-u", key]);
    for (const [key, value] of Object.entries(env)) await this.tmux.run(["set-environment", "-g", key, value]);
  }
}
