import fs from "node:fs";
import path from "node:path";

import type { Command } from "commander";

import { client } from "../context";
import { parseLocation, remoteBasename, remoteTargetPath } from "../location";
import { examples, UsageError } from "../output";

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function cpCommand(program: Command): void {
  program
    .command("cp")
    .description("copy a file between this computer and a machine (bytes as they are)")
    .argument("<src>", "a local path, machine:path, or - for stdin")
    .argument("<dst>", "a local path, machine:path, or - for stdout")
    .addHelpText(
      "after",
      examples(
        "os2 cp ./build.tar.gz scratch:app/",
        "os2 cp scratch:app/out.png ./out.png",
        "os2 cp scratch:/etc/os-release -",
        "tar cz src | os2 cp - scratch:src.tgz",
      ) +
        "\nRemote paths are relative to the machine's workspace unless absolute. A target ending in / (or\n" +
        "an existing local directory) keeps the file's name. Files only; directories: tar them first.\n",
    )
    .action(async (src: string, dst: string) => {
      const from = parseLocation(src);
      const to = parseLocation(dst);
      if ((from.kind === "remote") === (to.kind === "remote")) {
        throw new UsageError("one side of cp must be machine:path and the other local (or -)");
      }
      const os2 = client();
      if (to.kind === "remote") {
        let bytes: Uint8Array;
        let name = "stdin";
        let mode: number | undefined;
        if (from.kind === "stdio") bytes = await readStdin();
        else if (from.kind === "local") {
          const stat = fs.statSync(from.path);
          if (stat.isDirectory()) throw new UsageError(`${from.path} is a directory; cp copies files`);
          bytes = fs.readFileSync(from.path);
          name = path.basename(from.path);
          mode = stat.mode & 0o777;
        } else throw new UsageError("unreachable");
        const target = remoteTargetPath(to.path, name);
        const machine = await os2.machines.get(to.machine);
        const written = await machine.files.write(target, bytes, mode === undefined ? {} : { mode });
        process.stderr.write(`${written.size} bytes → ${machine.name}:${written.path}\n`);
        return;
      }
      if (from.kind !== "remote") throw new UsageError("unreachable");
      if (from.path === "") throw new UsageError(`name a file: ${src}path/to/file`);
      const machine = await os2.machines.get(from.machine);
      const bytes = await machine.files.readBytes(from.path);
      if (to.kind === "stdio") {
        process.stdout.write(bytes);
        return;
      }
      if (to.kind !== "local") throw new UsageError("unreachable");
      let target = to.path;
      if (target.endsWith(path.sep) || (fs.existsSync(target) && fs.statSync(target).isDirectory())) {
        target = path.join(target, remoteBasename(from.path));
      }
      fs.writeFileSync(target, bytes);
      process.stderr.write(`${machine.name}:${from.path} → ${target} (${bytes.length} bytes)\n`);
    });
}
