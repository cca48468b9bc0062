import { Os2Error } from "@os2/sdk";
import { CommanderError, InvalidArgumentError } from "commander";

/** Exit codes: 1 for failures the API (or the network) reported, 2 for a command used wrongly. */
export const EXIT_API = 1;
export const EXIT_USAGE = 2;

/** A mistake in how the command was called: printed with a hint, exits 2. */
export class UsageError extends Error {}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Columns padded to their widest cell; the last column is not padded. */
export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  process.stdout.write(`${[line(headers), ...rows.map(line)].join("\n")}\n`);
}

/** Prints a failure the way a person should read it and answers the exit code. */
export function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander has printed its message already; help and version are not failures.
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.exitCode === 0)
      return 0;
    return EXIT_USAGE;
  }
  if (error instanceof UsageError || error instanceof InvalidArgumentError) {
    process.stderr.write(`os2: ${error.message}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof Os2Error) {
    const hint =
      error.code === "unauthorized" ? "\n  (the token was refused: run `os2 login` again, or check OS2_TOKEN)" : "";
    process.stderr.write(`os2: ${error.describe()}${error.status ? ` [${error.status} ${error.code}]` : ""}${hint}\n`);
    return EXIT_API;
  }
  if (error instanceof Error && error.name === "AbortError") return 130;
  process.stderr.write(`os2: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT_API;
}

/** Parses `KEY=VALUE` (for repeatable `-e`), collecting into a record. */
export function collectEnv(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`expected KEY=VALUE, got ${JSON.stringify(value)}`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function parsePositiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got ${value}`);
  return n;
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new InvalidArgumentError(`expected a port 1-65535, got ${value}`);
  return n;
}

/** "Examples:" after a command's help. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}\n`;
}
