import type { Command } from "commander";

import { client } from "../context";
import { examples } from "../output";

/** Ctrl-\: a byte no shell or editor needs, so it is free to mean "detach". */
const DETACH_BYTE = 0x1c;
export const DEFAULT_SESSION = "os2-cli";

export function shellCommand(program: Command): void {
  program
    .command("shell")
    .alias("ssh")
    .description("open an interactive terminal in a machine (a tmux session that outlives the connection)")
    .argument("<machine>", "id or name")
    .option("-s, --session <name>", "the tmux session to attach to (created when missing)", DEFAULT_SESSION)
    .addHelpText(
      "after",
      examples("os2 shell scratch", "os2 shell scratch --session build") +
        "\nDetach with Ctrl-\\ : the session and what runs in it keep going; attach again with the same\n" +
        "--session. Typing `exit` ends the session.\n",
    )
    .action(async (ref: string, options: { session: string }) => {
      const os2 = client();
      const machine = await os2.machines.get(ref);
      const stdin = process.stdin;
      const size = () => ({ cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 });
      const terminal = await machine.terminal({ ...size(), session: options.session });

      const raw = stdin.isTTY;
      if (raw) stdin.setRawMode(true);
      let detached = false;
      const onInput = (chunk: Buffer) => {
        const at = raw ? chunk.indexOf(DETACH_BYTE) : -1;
        if (at === -1) return terminal.write(chunk);
        if (at > 0) terminal.write(chunk.subarray(0, at));
        detached = true;
        terminal.close();
      };
      const onResize = () => {
        const { cols, rows } = size();
        terminal.resize(cols, rows);
      };
      stdin.on("data", onInput);
      // Node turns SIGWINCH into stdout's "resize" event.
      process.stdout.on("resize", onResize);
      terminal.on("data", (chunk) => process.stdout.write(chunk));

      const { code, reason } = await terminal.closed;
      stdin.off("data", onInput);
      process.stdout.off("resize", onResize);
      if (raw) stdin.setRawMode(false);
      stdin.pause();
      // Leave the local terminal as it was found: show the cursor, leave tmux's alternate screen.
      if (process.stdout.isTTY) process.stdout.write("\x1b[?25h\x1b[?1049l");
      if (detached) {
        process.stderr.write(
          `\r\n[detached from ${options.session}; attach again: os2 shell ${ref} --session ${options.session}]\r\n`,
        );
      } else if (code !== 1000) {
        process.stderr.write(`\r\n[connection closed: ${code}${reason ? ` ${reason}` : ""}]\r\n`);
        process.exitCode = 1;
      }
    });
}
