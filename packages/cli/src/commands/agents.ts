import { HARNESSES, harnessSchema } from "@os2/protocol";
import type { Command } from "commander";
import { Option } from "commander";

import { client, interruptSignal } from "../context";
import { collectEnv, examples, printJson, printTable } from "../output";

export function agentCommands(program: Command): void {
  const agents = program
    .command("agents")
    .description("coding agents running in a machine")
    .addHelpText(
      "after",
      examples("os2 agents ls scratch", "os2 agents start scratch --harness claude-code --prompt 'fix the tests'"),
    );

  agents
    .command("ls")
    .alias("list")
    .description("list a machine's agents")
    .argument("<machine>", "id or name")
    .option("--json", "print JSON")
    .addHelpText("after", examples("os2 agents ls scratch", "os2 agents ls scratch --json"))
    .action(async (ref: string, options: { json?: boolean }) => {
      const machine = await client().machines.get(ref);
      const list = await machine.agents.list();
      if (options.json) return printJson(list.map((a) => a.data));
      if (list.length === 0) {
        process.stderr.write("No agents. Start one with `os2 agents start`.\n");
        return;
      }
      printTable(
        ["ID", "NAME", "HARNESS", "STATUS", "CREATED"],
        list.map((a) => [
          a.id,
          a.name,
          a.data.harness,
          a.status === "exited" && a.data.exitCode !== null ? `exited (${a.data.exitCode})` : a.status,
          a.data.createdAt,
        ]),
      );
    });

  agents
    .command("start")
    .description("start an agent (a harness in its own tmux session)")
    .argument("<machine>", "id or name")
    .addOption(new Option("--harness <harness>", "which agent to run").choices([...HARNESSES]).makeOptionMandatory())
    .option("-p, --prompt <text>", "its first message (for `shell`, a command line to type)")
    .option("-n, --name <name>", "a name for it")
    .option("--cwd <dir>", "working directory (relative to the workspace)")
    .option("-e, --env <KEY=VALUE>", "environment variable (repeatable)", collectEnv)
    .option("--json", "print the agent as JSON")
    .addHelpText(
      "after",
      examples(
        "os2 agents start scratch --harness claude-code --prompt 'add a README'",
        "os2 agents start scratch --harness shell --prompt 'npm run dev' --name dev",
      ),
    )
    .action(
      async (
        ref: string,
        options: {
          harness: string;
          prompt?: string;
          name?: string;
          cwd?: string;
          env?: Record<string, string>;
          json?: boolean;
        },
      ) => {
        const machine = await client().machines.get(ref);
        const agent = await machine.agents.start({
          harness: harnessSchema.parse(options.harness),
          env: options.env ?? {},
          ...(options.prompt === undefined ? {} : { prompt: options.prompt }),
          ...(options.name ? { name: options.name } : {}),
          ...(options.cwd ? { cwd: options.cwd } : {}),
        });
        if (options.json) return printJson(agent.data);
        process.stdout.write(`${agent.id}\n`);
        process.stderr.write(
          `Started ${agent.name} (${agent.data.harness}); follow it: os2 agents logs ${ref} ${agent.id} -f\n`,
        );
      },
    );

  agents
    .command("logs")
    .description("print an agent's output (its terminal's text)")
    .argument("<machine>", "id or name")
    .argument("<agent>", "the agent's id")
    .option("-f, --follow", "keep printing new lines until the agent stops (Ctrl-C to leave)")
    .option("-n, --lines <n>", "how many lines of scrollback", Number, 200)
    .addHelpText("after", examples("os2 agents logs scratch agt_01h…", "os2 agents logs scratch agt_01h… -f"))
    .action(async (ref: string, id: string, options: { follow?: boolean; lines: number }) => {
      const machine = await client().machines.get(ref);
      const agent = await machine.agents.get(id);
      if (!options.follow) {
        const text = await agent.output({ lines: options.lines });
        process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
        return;
      }
      const signal = interruptSignal();
      try {
        for await (const text of agent.follow({ lines: options.lines, signal })) process.stdout.write(text);
      } catch (error) {
        if (!signal.aborted) throw error;
      }
    });
}
