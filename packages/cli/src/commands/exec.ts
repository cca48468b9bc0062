import type { Command } from "commander";

import { client, interruptSignal } from "../context";
import { collectEnv, examples } from "../output";

async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

export function execCommand(program: Command): void {
  program
    .command("exec")
    .description("run a command in a machine, streaming its output; exits with the command's exit code")
    .argument("<machine>", "id or name")
    .argument("<command>", "the program to run (no shell: use `bash -lc '…'` for pipes and globs)")
    .argument("[args...]", "its arguments")
    .option("--cwd <dir>", "working directory (relative to the workspace)")
    .option("-e, --env <KEY=VALUE>", "set an environment variable (repeatable)", collectEnv)
    .option("--timeout <seconds>", "kill the command after this long (exit code 124)", Number)
    .option("--no-stdin", "do not forward stdin even when it is not a terminal")
    .addHelpText(
      "after",
      examples(
        "os2 exec scratch -- ls -la",
        "os2 exec scratch --cwd app -e NODE_ENV=test -- npm test",
        "os2 exec scratch -- bash -lc 'ps aux | grep node'",
        "echo hello | os2 exec scratch -- cat",
      ) +
        "\nPut -- before the command, so its own options are not taken for os2's.\n" +
        "Exit code: the command's own; 128+n when it was killed by signal n; 124 after --timeout.\n" +
        "When stdin is not a terminal it is read to its end and given to the command.\n",
    )
    .action(
      async (
        ref: string,
        command: string,
        args: string[],
        options: { cwd?: string; env?: Record<string, string>; timeout?: number; stdin: boolean },
      ) => {
        const os2 = client();
        const stdin = options.stdin && !process.stdin.isTTY ? await readAll(process.stdin) : undefined;
        const machine = await os2.machines.get(ref);
        const signal = interruptSignal();
        const result = await machine.exec(command, {
          args,
          env: options.env ?? {},
          ...(options.cwd ? { cwd: options.cwd } : {}),
          ...(stdin === undefined ? {} : { stdin }),
          ...(options.timeout ? { timeoutMs: Math.round(options.timeout * 1000) } : {}),
          onStdout: (data) => process.stdout.write(data),
          onStderr: (data) => process.stderr.write(data),
          signal,
        });
        if (result.timedOut) process.stderr.write(`os2: ${command} timed out\n`);
        process.exitCode = result.exitCode;
      },
    );
}
