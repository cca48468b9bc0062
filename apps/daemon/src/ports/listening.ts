import { readdir, readFile, readlink } from "node:fs/promises";
import { endianness } from "node:os";
import { join } from "node:path";

import type { ListeningPort } from "@os2/protocol";

import { commandName } from "../resources/processes";

/** A LISTEN socket from `/proc/net/tcp` or `/proc/net/tcp6`. */
export type ListenSocket = { port: number; address: string; inode: number };

const TCP_LISTEN = "0A";
/**
 * On a user-defined Docker network (os2's), Docker's embedded DNS listens on 127.0.0.11 at a random port
 * inside every container. It is Docker's, not the machine's: never listed.
 */
const DOCKER_EMBEDDED_DNS = "127.0.0.11";

/**
 * Parses `/proc/net/tcp` or `/proc/net/tcp6` and keeps the LISTEN sockets. Each line after the header is
 * `sl local_address rem_address st … uid timeout inode …`, with `local_address` as hex `ADDR:PORT`: the
 * address in the kernel's (host) byte order, 32-bit word by word, the port big-endian.
 */
export function parseProcNetTcp(text: string, littleEndian = endianness() === "LE"): ListenSocket[] {
  const sockets: ListenSocket[] = [];
  for (const line of text.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [local, state, inode] = [fields[1], fields[3], fields[9]];
    if (!local || state !== TCP_LISTEN || inode === undefined) continue;
    const [hexAddress, hexPort] = local.split(":");
    if (!hexAddress || !hexPort) continue;
    sockets.push({
      port: parseInt(hexPort, 16),
      address: formatAddress(hexAddress, littleEndian),
      inode: Number(inode),
    });
  }
  return sockets;
}

function formatAddress(hex: string, littleEndian: boolean): string {
  const bytes: number[] = [];
  for (let word = 0; word < hex.length / 8; word++) {
    const wordBytes = hex.slice(word * 8, word * 8 + 8).match(/../g) ?? [];
    if (littleEndian) wordBytes.reverse();
    bytes.push(...wordBytes.map((b) => parseInt(b, 16)));
  }
  if (bytes.length === 4) return bytes.join(".");
  // IPv4-mapped (::ffff:a.b.c.d) reads best dotted; everything else in the usual compressed form.
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${bytes.slice(12).join(".")}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return new URL(`http://[${groups.join(":")}]/`).hostname.slice(1, -1);
}

/**
 * The command names owning the given socket inodes, from `/proc/<pid>/fd/*` (links `socket:[inode]`).
 * Processes the daemon may not inspect (other users', when it is not root) are skipped.
 */
async function ownersOf(inodes: Set<number>, procRoot: string): Promise<Map<number, string>> {
  const owners = new Map<number, string>();
  const pids = (await readdir(procRoot).catch(() => [] as string[])).filter((name) => /^[0-9]+$/.test(name));
  for (const pid of pids) {
    if (owners.size === inodes.size) break;
    const fdDir = join(procRoot, pid, "fd");
    const fds = await readdir(fdDir).catch(() => [] as string[]);
    const found: number[] = [];
    for (const fd of fds) {
      const link = await readlink(join(fdDir, fd)).catch(() => "");
      const inode = Number(/^socket:\[([0-9]+)\]$/.exec(link)?.[1]);
      if (inodes.has(inode) && !owners.has(inode)) found.push(inode);
    }
    if (!found.length) continue;
    const name = await commandNameOf(join(procRoot, pid));
    if (name) for (const inode of found) owners.set(inode, name);
  }
  return owners;
}

/** The name of the command a process runs (see `commandName`); `comm` is read only when argv[0] is empty. */
async function commandNameOf(procDir: string): Promise<string | undefined> {
  const cmdline = await readFile(join(procDir, "cmdline"), "utf8").catch(() => "");
  return commandName(cmdline, "") ?? commandName("", await readFile(join(procDir, "comm"), "utf8").catch(() => ""));
}

/** A wildcard bind says the most about who can reach a port; otherwise IPv4 before IPv6. */
const addressRank = (address: string) =>
  address === "0.0.0.0" ? 0 : address === "::" ? 1 : address.includes(":") ? 3 : 2;

/** TCP ports something listens on in this network namespace, one entry per port, sorted by port. */
export async function listeningPorts(procRoot = "/proc"): Promise<ListeningPort[]> {
  const read = (file: string) => readFile(join(procRoot, "net", file), "utf8").catch(() => "");
  const sockets = [...parseProcNetTcp(await read("tcp")), ...parseProcNetTcp(await read("tcp6"))].filter(
    (socket) => socket.address !== DOCKER_EMBEDDED_DNS,
  );
  const owners = await ownersOf(new Set(sockets.filter((s) => s.inode > 0).map((s) => s.inode)), procRoot);
  const byPort = new Map<number, ListeningPort>();
  for (const socket of sockets) {
    const owner = owners.get(socket.inode) ?? null;
    const seen = byPort.get(socket.port);
    if (!seen) {
      byPort.set(socket.port, { port: socket.port, address: socket.address, process: owner });
      continue;
    }
    if (addressRank(socket.address) < addressRank(seen.address)) seen.address = socket.address;
    seen.process ??= owner;
  }
  return [...byPort.values()].sort((a, b) => a.port - b.port);
}
