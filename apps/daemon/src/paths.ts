import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";

import { badRequest } from "./http/errors";
import { describeUser } from "./user";

/** Relative paths are taken from the workspace directory, like a shell opened there. */
export function resolvePath(workspaceDir: string, path: string): string {
  return isAbsolute(path) ? resolve(path) : resolve(workspaceDir, path);
}

/** Checks a working directory up front: spawn reports a missing cwd as ENOENT, which reads like "no such binary". */
export async function resolveExistingDir(
  workspaceDir: string,
  cwd: string | undefined,
  field = "cwd",
): Promise<string> {
  const dir = resolvePath(workspaceDir, cwd ?? workspaceDir);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw badRequest(`${field}: ${dir} is not an existing directory`, field);
  // spawn would report a directory it may not enter as EACCES, which reads like "command not executable".
  const enterable = await access(dir, constants.X_OK).then(
    () => true,
    () => false,
  );
  if (!enterable)
    throw badRequest(`${field}: ${dir} may not be entered by ${describeUser()}, the user the daemon runs as`, field);
  return dir;
}
