import path from "node:path";

/** One side of `os2 cp`: a local path, "-" (stdin or stdout), or `machine:path`. */
export type Location =
  { kind: "local"; path: string } | { kind: "stdio" } | { kind: "remote"; machine: string; path: string };

/**
 * Parses a `cp` operand the way scp does: `name:path` is remote when the part before the first colon holds
 * no slash, so `./a:b` and `/tmp/a:b` stay local. Machine ids (`mach_…`) and names fit that rule.
 */
export function parseLocation(operand: string): Location {
  if (operand === "-") return { kind: "stdio" };
  const colon = operand.indexOf(":");
  if (colon <= 0) return { kind: "local", path: operand };
  const machine = operand.slice(0, colon);
  if (machine.includes("/")) return { kind: "local", path: operand };
  return { kind: "remote", machine, path: operand.slice(colon + 1) };
}

/**
 * The remote file to write when copying `source` to `target`: an empty path or one ending in "/" names a
 * directory, where the file keeps its own name (relative paths are relative to the machine's workspace).
 */
export function remoteTargetPath(target: string, sourceName: string): string {
  if (target === "" || target === ".") return sourceName;
  if (target.endsWith("/")) return `${target}${sourceName}`;
  return target;
}

/** The remote file's name, for a local target that is a directory. */
export function remoteBasename(remotePath: string): string {
  return path.posix.basename(remotePath.replace(/\/+$/, ""));
}
