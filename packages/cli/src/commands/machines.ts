import type { ApiMachine, MachineType } from "@os2/protocol";
import { type Machine, MachineFailedError } from "@os2/sdk";
import { type Command, Option } from "commander";
import yoctoSpinner from "yocto-spinner";

import { client, interruptSignal } from "../context";
import { examples, parsePositiveNumber, printJson, printTable } from "../output";

const summary = (m: ApiMachine) => [m.id, m.name, m.state, m.type, m.createdAt.replace(/\.\d+Z$/, "Z")];

function printMachine(m: ApiMachine): void {
  const limits = Object.entries(m.limits)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  const rows: [string, string][] = [
    ["id", m.id],
    ["name", m.name],
    ["state", m.state === m.desiredState ? m.state : `${m.state} (→ ${m.desiredState})`],
    ["type", m.type],
    ["limits", limits || "defaults"],
    ["created", m.createdAt],
    ["ready", m.readyAt ?? "-"],
  ];
  if (m.lastError) rows.push(["last error", m.lastError]);
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(11)}${v}\n`);
}

/** Waits for `running`, with a spinner on stderr when a person is watching it. */
async function waitRunning(machine: Machine): Promise<Machine> {
  const spinner = process.stderr.isTTY
    ? yoctoSpinner({ text: `${machine.name}: ${machine.state}`, stream: process.stderr }).start()
    : undefined;
  const signal = interruptSignal();
  try {
    for (;;) {
      try {
        return await machine.waitUntil("running", { timeoutMs: 5_000, signal });
      } catch (error) {
        // Short waits in a loop, so the spinner shows each state the machine passes through.
        if (!(error instanceof Error && error.name === "Os2TimeoutError")) throw error;
        await machine.refresh({ signal });
        if (spinner) spinner.text = `${machine.name}: ${machine.state}`;
      }
    }
  } catch (error) {
    spinner?.error(error instanceof MachineFailedError ? `${machine.name}: error` : undefined);
    throw error;
  } finally {
    if (spinner?.isSpinning) spinner.success(`${machine.name}: running`);
  }
}

export function machineCommands(program: Command): void {
  const machines = program
    .command("machines")
    .alias("m")
    .description("create, list and control the project's machines")
    .addHelpText("after", examples("os2 machines ls", "os2 machines create scratch --cpus 2 --memory 4096"));

  machines
    .command("ls")
    .alias("list")
    .description("list machines")
    .option("-a, --all", "include archived machines")
    .option("--json", "print JSON")
    .addHelpText("after", examples("os2 machines ls", "os2 machines ls --all --json | jq '.[].name'"))
    .action(async (options: { all?: boolean; json?: boolean }) => {
      // Every page, 200 machines a request (the most the API gives in one).
      const list = await client().machines.listAll({ includeArchived: options.all ?? false, limit: 200 });
      if (options.json) return printJson(list.map((m) => m.data));
      if (list.length === 0) {
        process.stderr.write("No machines. Make one with `os2 machines create`.\n");
        return;
      }
      printTable(
        ["ID", "NAME", "STATE", "TYPE", "CREATED"],
        list.map((m) => summary(m.data)),
      );
    });

  machines
    .command("create")
    .description("create a machine and wait until it runs")
    .argument("[name]", "its name (a generated two-word name when not given)")
    .addOption(new Option("--type <type>", "where it runs").choices(["local-docker", "daytona"]))
    .option("--cpus <n>", "CPU limit", parsePositiveNumber)
    .option("--memory <mb>", "memory limit in MB", parsePositiveNumber)
    .option("--pids <n>", "process limit", parsePositiveNumber)
    .option("--no-wait", "answer as soon as it is created, without waiting for it to run")
    .option("--json", "print the machine as JSON")
    .addHelpText(
      "after",
      examples(
        "os2 machines create",
        "os2 machines create api-dev --cpus 2 --memory 4096",
        "os2 m create --no-wait --json",
      ),
    )
    .action(
      async (
        name: string | undefined,
        options: { type?: MachineType; cpus?: number; memory?: number; pids?: number; wait: boolean; json?: boolean },
      ) => {
        const limits = {
          ...(options.cpus ? { cpus: options.cpus } : {}),
          ...(options.memory ? { memoryMb: Math.round(options.memory) } : {}),
          ...(options.pids ? { pids: Math.round(options.pids) } : {}),
        };
        let machine = await client().machines.create({
          ...(name ? { name } : {}),
          ...(options.type ? { type: options.type } : {}),
          ...(Object.keys(limits).length ? { limits } : {}),
        });
        if (options.wait) machine = await waitRunning(machine);
        if (options.json) return printJson(machine.data);
        printMachine(machine.data);
      },
    );

  machines
    .command("get")
    .alias("show")
    .description("show one machine")
    .argument("<machine>", "id or name")
    .option("--json", "print JSON")
    .addHelpText("after", examples("os2 machines get scratch", "os2 machines get mach_01h… --json"))
    .action(async (ref: string, options: { json?: boolean }) => {
      const machine = await client().machines.get(ref);
      if (options.json) return printJson(machine.data);
      printMachine(machine.data);
    });

  const actions = [
    ["start", "start a stopped machine"],
    ["stop", "stop a machine (its disk is kept)"],
    ["restart", "restart a machine"],
    ["archive", "archive a stopped machine (kept, hidden from `ls`)"],
    ["unarchive", "bring an archived machine back (stopped)"],
    ["recreate", "replace a machine's container with a fresh one from the image"],
  ] as const;
  for (const [action, description] of actions) {
    machines
      .command(action)
      .description(description)
      .argument("<machine>", "id or name")
      .option("--json", "print the machine as JSON")
      .addHelpText("after", examples(`os2 machines ${action} scratch`))
      .action(async (ref: string, options: { json?: boolean }) => {
        const machine = await client().machines[action](ref);
        if (options.json) return printJson(machine.data);
        process.stderr.write(
          `${machine.name}: ${machine.state}${machine.state !== machine.data.desiredState ? ` → ${machine.data.desiredState}` : ""}\n`,
        );
      });
  }

  machines
    .command("rm")
    .alias("delete")
    .description("delete a machine and its disk")
    .argument("<machine>", "id or name")
    .option("-f, --force", "forget a machine whose provider cannot remove it (stuck deleting)")
    .addHelpText("after", examples("os2 machines rm scratch", "os2 machines rm mach_01h… --force"))
    .action(async (ref: string, options: { force?: boolean }) => {
      const { id } = await client().machines.delete(ref, { force: options.force ?? false });
      process.stderr.write(`Deleting ${ref} (${id}).\n`);
    });

  machines
    .command("events")
    .description("the machine's state changes, newest last")
    .argument("<machine>", "id or name")
    .option("--json", "print JSON")
    .addHelpText("after", examples("os2 machines events scratch"))
    .action(async (ref: string, options: { json?: boolean }) => {
      const events = await client().machines.events(ref);
      if (options.json) return printJson(events);
      printTable(
        ["TIME", "FROM", "TO", "REASON", "DETAIL"],
        events.map((e) => [
          e.createdAt,
          e.fromState ?? "-",
          e.toState,
          e.reason + (e.durationMs === null ? "" : ` (${e.durationMs} ms)`),
          e.detail ?? "",
        ]),
      );
    });
}
