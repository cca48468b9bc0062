/**
 * A tiny sandbox image for Daytona tests: a dependency-free Node server on :3000 that answers
 * `/api/health` (like os2's daemon, plus the machine id it got through env) and echoes WebSocket text
 * frames at `/ws`. Built `FROM` whatever local image has node (test-support/ensure-test-base-image.sh),
 * since nothing can be pulled here. The real sandbox image is too slow to build for these tests.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import type Dockerode from "dockerode";
import { pack } from "tar-fs";

export const DAYTONA_FIXTURE_IMAGE = "os2-test-daytona-fixture:latest";
export const FIXTURE_LABEL = "os2.test.daytona-fixture";

const here = dirname(fileURLToPath(import.meta.url));

const SERVER_JS = String.raw`
const http = require("http");
const crypto = require("crypto");
const started = Date.now();
// PID 1 ignores SIGTERM unless it handles it; exit at once so "stop" is quick.
process.on("SIGTERM", () => process.exit(0));
const server = http.createServer((req, res) => {
  if (req.url === "/api/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ok: true, machineId: process.env.OS2_MACHINE_ID || null, uptimeMs: Date.now() - started }));
    return;
  }
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found");
});
server.on("upgrade", (req, socket) => {
  if (req.url !== "/ws") { socket.end("HTTP/1.1 404 Not Found\r\n\r\n"); return; }
  const accept = crypto.createHash("sha1").update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n");
  socket.on("data", (frame) => {
    const opcode = frame[0] & 0x0f;
    if (opcode === 8) { socket.end(); return; }
    let length = frame[1] & 0x7f;
    let offset = 2;
    if (length === 126) { length = frame.readUInt16BE(2); offset = 4; }
    const mask = frame.subarray(offset, offset + 4);
    offset += 4;
    const payload = Buffer.alloc(length);
    for (let i = 0; i < length; i++) payload[i] = frame[offset + i] ^ mask[i % 4];
    const out = Buffer.from("echo:" + payload.toString("utf8"));
    const header = out.length < 126 ? Buffer.from([0x81, out.length]) : Buffer.from([0x81, 126, out.length >> 8, out.length & 255]);
    socket.write(Buffer.concat([header, out]));
  });
});
server.listen(3000, "0.0.0.0");
`;

/** The name of a local image with node, building a base with debootstrap if none exists (once). */
export function ensureTestBaseImage(): string {
  const script = resolve(here, "../ensure-test-base-image.sh");
  const output = execFileSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const image = output.trim().split("\n").pop();
  if (!image) throw new Error(`${script} printed no image name`);
  return image;
}

export async function ensureDaytonaFixtureImage(docker: Dockerode): Promise<string> {
  const base = ensureTestBaseImage();
  const dir = await mkdtemp(join(tmpdir(), "daytona-fixture-"));
  try {
    await writeFile(join(dir, "server.js"), SERVER_JS);
    await writeFile(
      join(dir, "Dockerfile"),
      `FROM ${base}\nCOPY server.js /fixture/server.js\nENTRYPOINT []\nCMD ["node", "/fixture/server.js"]\n`,
    );
    const output = await docker.buildImage(pack(dir), {
      t: DAYTONA_FIXTURE_IMAGE,
      labels: { [FIXTURE_LABEL]: "true" },
      rm: true,
    });
    await new Promise<void>((resolvePromise, reject) => {
      docker.modem.followProgress(output, (error: Error | null, events: Array<{ error?: string }>) => {
        const failed = events.find((event) => event.error);
        if (error) reject(error);
        else if (failed?.error) reject(new Error(`Building ${DAYTONA_FIXTURE_IMAGE} failed: ${failed.error}`));
        else resolvePromise();
      });
    });
    return DAYTONA_FIXTURE_IMAGE;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
