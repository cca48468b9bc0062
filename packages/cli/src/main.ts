import { reportError } from "./output";
import { buildProgram } from "./program";

// `pnpm os2 …` runs from the repo root; relative paths (`os2 cp ./x m:`) mean the caller's directory.
if (process.env.npm_lifecycle_event === "os2" && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

// `os2 … | head` closes the pipe early: that is the reader being done, not a failure to print a trace for.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error);
}
