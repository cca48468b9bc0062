import type { Command } from "commander";
import open from "open";

import { client } from "../context";
import { examples, parsePort } from "../output";

export const DEFAULT_PREVIEW_PORT = 8080;

export function openCommand(program: Command): void {
  program
    .command("open")
    .description("print a port's preview URL and open it in a browser when there is one")
    .argument("<machine>", "id or name")
    .argument("[port]", `the port a server listens on in the machine (default ${DEFAULT_PREVIEW_PORT})`, parsePort)
    .option("--no-browser", "only print the URL")
    .addHelpText("after", examples("os2 open scratch 5173", "os2 open scratch 3000 --no-browser"))
    .action(async (ref: string, port: number | undefined, options: { browser: boolean }) => {
      const url = await client().machines.previewUrl(ref, port ?? DEFAULT_PREVIEW_PORT);
      process.stdout.write(`${url}\n`);
      // A headless box has no browser: printing the URL is the useful part, so a failed launch is quiet.
      if (options.browser && (process.platform !== "linux" || process.env.DISPLAY || process.env.WAYLAND_DISPLAY)) {
        await open(url)
          .then((child) => child.on("error", () => undefined))
          .catch(() => undefined);
      }
    });
}
