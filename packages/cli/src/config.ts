import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { z } from "zod";

/** What `os2 login` saves. */
export const configSchema = z.object({ url: z.string().url(), token: z.string().min(1) });
export type Config = z.infer<typeof configSchema>;

type Env = Record<string, string | undefined>;

/** `$XDG_CONFIG_HOME/os2/config.json`, or `~/.config/os2/config.json`. */
export function configPath(env: Env = process.env): string {
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : undefined;
  return path.join(base ?? path.join(env.HOME ?? os.homedir(), ".config"), "os2", "config.json");
}

/** The saved config, or undefined when there is none. A file that is there but broken is an error. */
export function readConfig(file = configPath()): Config | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not JSON; run \`os2 login\` again or delete it`);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${file} lacks a url or token; run \`os2 login\` again`);
  return parsed.data;
}

/**
 * Saves the token readable by its owner only. The file is written beside the old one and renamed over it,
 * so it is never briefly readable by others nor half-written; the mode is set on creation (not after).
 */
export function writeConfig(config: Config, file = configPath()): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  // Umask can only remove bits, but a file left by another tool could carry others: make sure.
  fs.chmodSync(temporary, 0o600);
  fs.renameSync(temporary, file);
}

export function removeConfig(file = configPath()): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

export type Credentials = Config & { source: "env" | "file" | "mixed" };

/** OS2_URL and OS2_TOKEN win over the file, each on its own. Undefined when either is missing. */
export function resolveCredentials(env: Env = process.env, file = configPath()): Credentials | undefined {
  const saved = env.OS2_URL && env.OS2_TOKEN ? undefined : readConfig(file);
  const url = env.OS2_URL || saved?.url;
  const token = env.OS2_TOKEN || saved?.token;
  if (!url || !token) return undefined;
  const fromEnv = [env.OS2_URL, env.OS2_TOKEN].filter(Boolean).length;
  return { url, token, source: fromEnv === 2 ? "env" : fromEnv === 0 ? "file" : "mixed" };
}
