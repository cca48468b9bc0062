import { DAEMON_PORT } from "@os2/protocol";
import type { Command } from "commander";
import open from "open";

import { client } from "../context";
import { examples, parsePort, UsageError } from "../output";

export function openCommand(program: Command): void {
  program
    .command("open")
    .description("print a port's preview URL and open it in a browser when there is one")
    .argument("<machine>", "id or name")
    .argument("[port]", "the port a server listens on in the machine (default: the only one listening)", parsePort)
    .option("--no-browser", "only print the URL")
    .addHelpText("after", examples("os2 open scratch", "os2 open scratch 5173", "os2 open scratch 3000 --no-browser"))
    .action(async (ref: string, port: number | undefined, options: { browser: boolean }) => {
      const machine = await client().machines.get(ref);
      if (port === undefined) {
        const listening = [...new Set((await machine.ports()).map((p) => p.port))].filter((p) => p !== DAEMON_PORT);
        if (listening.length !== 1) {
          throw new UsageError(
            listening.length === 0
              ? `nothing listens in ${machine.name} yet; start a server there, or name a port: os2 open ${ref} <port>`
              : `several ports listen in ${machine.name} (${listening.join(", ")}); name one: os2 open ${ref} <port>`,
          );
        }
        port = listening[0] ?? 0;
      }
      const url = await machine.previewUrl(port);
      process.stdout.write(`${url}\n`);
      // A headless box has no browser: printing the URL is the useful part, so a failed launch is quiet.
      if (options.browser && (process.platform !== "linux" || process.env.DISPLAY || process.env.WAYLAND_DISPLAY)) {
        await open(url)
          .then((child) => child.on("error", () => undefined))
          .catch(() => undefined);
      }
    });
}
