import { Command } from "commander";

import { agentCommands } from "./commands/agents";
import { authCommands } from "./commands/auth";
import { cpCommand } from "./commands/cp";
import { execCommand } from "./commands/exec";
import { machineCommands } from "./commands/machines";
import { openCommand } from "./commands/open";
import { shellCommand } from "./commands/shell";
import { examples } from "./output";

/** The whole command tree; commander errors throw (exitOverride) so main decides the exit code. */
export function buildProgram(): Command {
  const program = new Command("os2")
    .description("os2: sandboxed machines for coding agents, from the command line")
    .version("0.1.0")
    .showHelpAfterError("(add --help for usage)")
    .addHelpText(
      "after",
      examples(
        "os2 login --url http://localhost:3001 --token pat_…",
        "os2 machines create scratch",
        "os2 exec scratch -- uname -a",
        "os2 shell scratch",
        "os2 cp ./notes.md scratch:notes.md",
      ) + "\nOS2_URL and OS2_TOKEN override the saved login.\nExit codes: 1 API or network error, 2 usage error.\n",
    );
  authCommands(program);
  machineCommands(program);
  execCommand(program);
  shellCommand(program);
  cpCommand(program);
  agentCommands(program);
  openCommand(program);
  // Every command, nested ones included, throws instead of exiting, so usage errors can exit 2.
  const override = (command: Command) => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  return program;
}
