/**
 * The daemon's forward in a real container of the sandbox image: an app started inside (as an agent would
 * start `pnpm dev`) is reached from the host through the one published port, 3000, via
 * `/api/forward/<port>/…` (HTTP and WebSocket), and shows up in `/api/ports`. Containers carry the label
 * `os2-test.sandbox=<run id>` and are removed in afterAll.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { errorResponseSchema, forwardPath, MACHINE_TOKEN_HEADER, portsResponseSchema } from "@os2/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import WebSocket from "ws";

import { httpStatus } from "../test-support/http-status.ts";

const execFileAsync = promisify(execFile);
const sandboxDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(sandboxDir, "../../..");
const IMAGE = process.env.LOCAL_DOCKER_IMAGE_NAME || "iterate-sandbox:local";
const TOKEN = `tok-${randomBytes(8).toString("hex")}`;
const RUN_LABEL = `os2-test.sandbox=${randomBytes(6).toString("hex")}`;
const APP_PORT = 8089;

const docker = async (...args: string[]) =>
  (await execFileAsync("docker", args, { maxBuffer: 64 * 1024 * 1024 })).stdout.trim();

function runStreaming(command: string, args: string[], cwd = repoRoot): Promise<number> {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd, stdio: "inherit" });
    child.on("close", (code) => done(code ?? 1));
  });
}

/**
 * The app inside the machine: plain Node (no packages), answering HTTP with what it received and echoing
 * WebSocket text frames (a minimal RFC 6455 server: unfragmented frames under 64 KiB).
 */
const APP_SOURCE = String.raw`
import { createHash } from "node:crypto";
import { createServer } from "node:http";
const server = createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/json", "x-app": "inside" });
  res.end(JSON.stringify({ url: req.url, host: req.headers.host, authorization: req.headers.authorization ?? null,
    sawMachineToken: "x-os2-machine-token" in req.headers }));
});
server.on("upgrade", (req, socket) => {
  const accept = createHash("sha1").update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n");
  let buffer = Buffer.alloc(0);
  socket.on("error", () => socket.destroy());
  socket.on("data", (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 6) {
      let length = buffer[1] & 0x7f, offset = 2;
      if (length === 126) { length = buffer.readUInt16BE(2); offset = 4; }
      if (buffer.length < offset + 4 + length) return;
      const mask = buffer.subarray(offset, offset + 4);
      const payload = Buffer.from(buffer.subarray(offset + 4, offset + 4 + length).map((b, i) => b ^ mask[i % 4]));
      const opcode = buffer[0] & 0x0f;
      buffer = buffer.subarray(offset + 4 + length);
      if (opcode === 8) { socket.end(Buffer.from([0x88, 0])); return; }
      const text = Buffer.from("echo:" + payload.toString());
      const header = text.length < 126 ? Buffer.from([0x81, text.length]) : Buffer.from([0x81, 126, text.length >> 8, text.length & 0xff]);
      socket.write(Buffer.concat([header, text]));
    }
  });
});
server.listen(Number(process.argv[2]), "0.0.0.0");
`;

/** Interleaved keep-alive GETs, direct and through the daemon; prints the p50 of each in ms as JSON. */
const BENCH_SOURCE = String.raw`
import { Agent, request } from "node:http";
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const once = (port, path, headers) => new Promise((resolve, reject) => {
  const started = process.hrtime.bigint();
  const req = request({ host: "127.0.0.1", port, path, agent, headers }, (res) => {
    res.resume();
    res.on("end", () => resolve(Number(process.hrtime.bigint() - started) / 1e6));
  });
  req.on("error", reject);
  req.end();
});
const direct = [], forward = [];
const viaDaemon = () => once(3000, "${forwardPath(APP_PORT, "/bench")}", { "${MACHINE_TOKEN_HEADER}": "${TOKEN}" });
for (let i = 0; i < 200; i++) { await once(${APP_PORT}, "/bench", {}); await viaDaemon(); }
for (let i = 0; i < 500; i++) { direct.push(await once(${APP_PORT}, "/bench", {})); forward.push(await viaDaemon()); }
const p50 = (list) => list.sort((a, b) => a - b)[Math.floor(list.length / 2)];
console.log(JSON.stringify({ direct: p50(direct), forward: p50(forward) }));
`;

type Reply = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

/** One request to the daemon with Node's client (fetch cannot set Host), the credential in its header. */
function send(base: string, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolveReply, reject) => {
    const url = new URL(path, base);
    const req = request(
      { host: url.hostname, port: url.port, path, headers: { [MACHINE_TOKEN_HEADER]: TOKEN, ...headers } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolveReply({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error(`no answer to ${path} within 5 s`)));
    req.on("error", reject);
    req.end();
  });
}

describe("sandbox image: the forward to other ports", () => {
  let id: string;
  let base: string;

  beforeAll(async () => {
    expect(await runStreaming("bash", [join(repoRoot, "scripts/ensure-docker.sh")])).toBe(0);
    expect(
      await runStreaming("npx", ["tsx", join(sandboxDir, "build-local-image.ts")], resolve(sandboxDir, "..")),
    ).toBe(0);
    id = await docker(
      "run",
      "-d",
      "--label",
      RUN_LABEL,
      "-p",
      "127.0.0.1:0:3000",
      "-e",
      `MACHINE_AUTH_TOKEN=${TOKEN}`,
      IMAGE,
    );
    base = `http://127.0.0.1:${(await docker("port", id, "3000/tcp")).split("\n")[0]?.split(":").pop()}`;
    const deadline = Date.now() + 10_000;
    while ((await httpStatus(`${base}/api/health`, { timeoutMs: 500 })) !== 200) {
      if (Date.now() > deadline) throw new Error(`no healthy daemon at ${base}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Started the way an agent starts a dev server: a file written through the daemon, run in tmux.
    const call = (path: string, method: string, json: unknown) =>
      fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(json),
      });
    expect((await call("/api/files/write", "PUT", { path: "/workspace/app.mjs", content: APP_SOURCE })).status).toBe(
      200,
    );
    const session = await call("/api/tmux/sessions", "POST", {
      name: "app",
      command: `node /workspace/app.mjs ${APP_PORT}`,
    });
    expect(session.status).toBe(201);
  });

  afterAll(async () => {
    if (id) await docker("rm", "-f", id).catch(() => "");
  });

  afterEach(() => {
    onTestFailed(async () => {
      if (id) console.error(`[forward test] container ${id} logs:\n${await docker("logs", id).catch(() => "(gone)")}`);
    });
  });

  it("reaches an HTTP server started inside the machine through /api/forward/<port>/ on the published port", async () => {
    let reply: Reply | undefined;
    for (let i = 0; i < 100 && reply?.status !== 200; i++) {
      if (i) await new Promise((r) => setTimeout(r, 50));
      reply = await send(base, forwardPath(APP_PORT, "/hello?x=1"), {
        host: `${APP_PORT}--machine.preview.test`,
        authorization: "Bearer for-the-app",
      });
    }
    expect(reply?.status).toBe(200);
    expect(reply?.headers["x-app"]).toBe("inside");
    expect(JSON.parse(reply?.body ?? "{}")).toEqual({
      url: "/hello?x=1",
      host: `${APP_PORT}--machine.preview.test`,
      authorization: "Bearer for-the-app",
      sawMachineToken: false,
    });
  });

  it("lists the app's port, owned by node, and the daemon's in /api/ports", async () => {
    const reply = await send(base, "/api/ports");
    expect(reply.status).toBe(200);
    const { ports } = portsResponseSchema.parse(JSON.parse(reply.body));
    expect(ports).toEqual(
      expect.arrayContaining([
        { port: 3000, address: "0.0.0.0", process: "node" },
        { port: APP_PORT, address: "0.0.0.0", process: "node" },
      ]),
    );
  });

  it("splices a WebSocket to the app through /api/forward/<port>/", async () => {
    const ws = new WebSocket(`${base.replace("http", "ws")}${forwardPath(APP_PORT, "/socket")}`, {
      headers: { [MACHINE_TOKEN_HEADER]: TOKEN },
    });
    const echoed = new Promise<string>((resolveEcho, reject) => {
      ws.once("message", (data: Buffer) => resolveEcho(data.toString()));
      ws.once("error", reject);
    });
    ws.once("open", () => ws.send("hi from the host"));
    expect(await echoed).toBe("echo:hi from the host");
    ws.close();
  });

  it("answers 502 naming the port for a port nothing listens on, and 401 without the credential", async () => {
    const nobody = await send(base, forwardPath(8090, "/"));
    expect(nobody.status).toBe(502);
    expect(errorResponseSchema.parse(JSON.parse(nobody.body))).toMatchObject({
      error: "bad_gateway",
      message: expect.stringContaining("Nothing is listening on port 8090 inside the machine"),
    });
    expect(await httpStatus(`${base}${forwardPath(APP_PORT, "/")}`)).toBe(401);
  });

  it("adds under 1 ms at p50 inside the machine: keep-alive requests direct to the app vs through the forward", async () => {
    // Measured inside the container, so docker-proxy and the host's network stack are not in the figures.
    const { stdout } = await execFileAsync("docker", ["exec", id, "node", "--input-type=module", "-e", BENCH_SOURCE]);
    const { direct, forward } = JSON.parse(stdout) as { direct: number; forward: number };
    console.log(
      `[forward test] p50 of 500 keep-alive GETs inside the machine: direct ${direct.toFixed(3)} ms, ` +
        `through /api/forward ${forward.toFixed(3)} ms (+${(forward - direct).toFixed(3)} ms)`,
    );
    expect(forward - direct).toBeLessThan(1);
  });
});
