import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { portsResponseSchema } from "@os2/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestDaemon, type TestDaemon } from "../test-support";
import { listeningPorts, parseProcNetTcp } from "./listening";

describe("GET /api/ports", () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    daemon = await createTestDaemon();
  });
  afterAll(() => daemon.cleanup());

  const listen = async (host: string) => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    return server;
  };
  const portOf = (server: Server) => (server.address() as { port: number }).port;
  const ports = async () => {
    const res = await daemon.call("/api/ports");
    expect(res.status).toBe(200);
    return portsResponseSchema.parse(await res.json()).ports;
  };

  it("lists a port the test just opened, with its address and the owning command's name (node)", async () => {
    const server = await listen("127.0.0.1");
    const port = portOf(server);
    try {
      expect((await ports()).find((p) => p.port === port)).toEqual({
        port,
        address: "127.0.0.1",
        process: "node",
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect((await ports()).some((p) => p.port === port)).toBe(false);
  });

  it("lists IPv6 listeners, one entry per port, sorted by port", async () => {
    const v6 = await listen("::1");
    try {
      const list = await ports();
      expect(list.find((p) => p.port === portOf(v6))).toMatchObject({ address: "::1" });
      const numbers = list.map((p) => p.port);
      expect(numbers).toEqual([...new Set(numbers)].sort((a, b) => a - b));
    } finally {
      v6.close();
    }
  });

  it("needs the machine token", async () => {
    expect((await daemon.call("/api/ports", { auth: false })).status).toBe(401);
  });
});

describe("listeningPorts", () => {
  it("leaves out Docker's embedded DNS (127.0.0.11), which every container on a user-defined network has", async () => {
    const root = await mkdtemp(join(tmpdir(), "proc-"));
    await mkdir(join(root, "net"));
    const header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
    await writeFile(
      join(root, "net", "tcp"),
      header +
        "   0: 0B00007F:99F1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 0 1 0 100 0 0 10 0\n" +
        "   1: 00000000:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 0 1 0 100 0 0 10 0\n",
    );
    await writeFile(join(root, "net", "tcp6"), header);
    expect((await listeningPorts(root)).map((port) => port.port)).toEqual([3000]);
    await rm(root, { recursive: true, force: true });
  });
});

describe("parseProcNetTcp", () => {
  const header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

  it("keeps LISTEN sockets (state 0A) and decodes little-endian IPv4 and IPv6 addresses", () => {
    const tcp =
      header +
      "   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5388 1 0 100 0 0 10 0\n" +
      "   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0 100 0 0 10 0\n" +
      "   2: 0100007F:0BB8 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 99 1 0 100 0 0 10 0\n";
    expect(parseProcNetTcp(tcp, true)).toEqual([
      { port: 3000, address: "127.0.0.1", inode: 5388 },
      { port: 8080, address: "0.0.0.0", inode: 77 },
    ]);
    const tcp6 =
      header +
      "   0: 00000000000000000000000001000000:1435 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 42 1 0\n" +
      "   1: 00000000000000000000000000000000:22B8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 43 1 0\n" +
      "   2: 0000000000000000FFFF00000100007F:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 44 1 0\n";
    expect(parseProcNetTcp(tcp6, true)).toEqual([
      { port: 5173, address: "::1", inode: 42 },
      { port: 8888, address: "::", inode: 43 },
      { port: 80, address: "::ffff:127.0.0.1", inode: 44 },
    ]);
  });
});
