import { accessSync, constants } from "node:fs";
import { userInfo } from "node:os";

/** The user the daemon runs as (in the image: `os2`, uid 1000), from the password database. */
export type DaemonUser = { uid: number; name: string; home: string | undefined };

let current: DaemonUser | undefined;

export function daemonUser(): DaemonUser {
  if (current) return current;
  const uid = process.getuid?.() ?? -1;
  try {
    const info = userInfo();
    current = { uid, name: info.username, home: info.homedir || undefined };
  } catch {
    // A uid without a passwd entry (`docker run -u 1234`): no name, no home.
    current = { uid, name: `uid ${uid}`, home: undefined };
  }
  return current;
}

/** "os2 (uid 1000)", for messages. */
export function describeUser(user = daemonUser()): string {
  return user.name === `uid ${user.uid}` ? user.name : `${user.name} (uid ${user.uid})`;
}

const REASONS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  ENOENT: "no such file or directory",
  ENOTDIR: "a parent is not a directory",
};

/**
 * A message for a file operation that failed, naming the path and, for permission errors, the user the
 * daemon runs as: "cannot write /var/lib/os2/agents.json: permission denied (EACCES); the daemon runs as
 * os2 (uid 1000)".
 */
export function describePathError(action: "read" | "write" | "create" | "enter", path: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = code ? `${REASONS[code] ?? (error as Error).message} (${code})` : String(error);
  const permission = code === "EACCES" || code === "EPERM";
  return `cannot ${action} ${path}: ${reason}${permission ? `; the daemon runs as ${describeUser()}` : ""}`;
}

/**
 * The environment fixes children need when the daemon runs as a user other than the one its environment
 * was made for (a `USER` switch without a login: `HOME=/root` for uid 1000). `HOME` becomes the user's home
 * from the password database unless the inherited one is writable by the user; `USER` and `LOGNAME` name the
 * user. Returns only what changes.
 */
export function childEnvironmentFixes(
  env: Record<string, string | undefined>,
  user: DaemonUser,
  writable: (dir: string) => boolean = isWritableDir,
): Record<string, string> {
  const fixes: Record<string, string> = {};
  const inherited = env.HOME;
  if (user.home && (!inherited || (inherited !== user.home && !writable(inherited)))) fixes.HOME = user.home;
  if (user.name !== `uid ${user.uid}`) {
    if (env.USER !== user.name) fixes.USER = user.name;
    if (env.LOGNAME !== user.name) fixes.LOGNAME = user.name;
  }
  return fixes;
}

function isWritableDir(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
