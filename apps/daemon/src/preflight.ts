import { accessSync, constants, mkdirSync } from "node:fs";

import { describePathError } from "./user";

/**
 * The directories the daemon writes, checked once at start so a machine whose image got an owner wrong
 * says so in the daemon's log (naming the path and the user) instead of failing on the first request that
 * writes. Each is created when missing. Returns one warning per problem; the daemon serves anyway.
 */
export function checkWritableDirs(dirs: Array<{ path: string; what: string }>): string[] {
  const warnings: string[] = [];
  for (const { path, what } of dirs) {
    try {
      mkdirSync(path, { recursive: true });
      accessSync(path, constants.W_OK | constants.X_OK);
    } catch (error) {
      warnings.push(`${describePathError("write", path, error)} (${what})`);
    }
  }
  return warnings;
}
