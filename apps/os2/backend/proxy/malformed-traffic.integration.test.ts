/**
 * Raw sockets against a listening os2: malformed targets, bad escapes, bad upgrade headers, overlong
 * input and resets in the middle of an upgrade each get a 4xx or a closed socket, and the server answers
 * the next request. (An exception in Node's `upgrade` listener would end this very process.)
 */
import net from "node:net";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestOs2, type TestOs2 } from "../testing/harness.ts";

const WS_HEADERS =
  "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

describe("malformed traffic", () => {
  let t: TestOs2;
  let port: number;

  beforeAll(async () => {
    t = await createTestOs2();
    port = Number(new URL(await t.listen()).port);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Sends raw bytes; resolves with what came back before the server closed (or 2 s passed). */
  function send(raw: string | Buffer): Promise<string> {
    return new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      let answer = "";
      socket.on("data", (chunk) => (answer += chunk.toString("latin1")));
      socket.on("error", () => resolve(answer));
      socket.on("close", () => resolve(answer));
      socket.setTimeout(2_000, () => socket.destroy());
      socket.write(raw);
    });
  }

  const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);

  async function expectServerAnswers() {
    const answer = await send("GET /api/health HTTP/1.1\r\nHost: localhost:3001\r\nConnection: close\r\n\r\n");
    expect(statusOf(answer)).toBe(200);
  }

  it("answers a WebSocket upgrade with a bad % escape in the machine segment with 400, and stays up", async () => {
    const answer = await send(
      `GET /org/a/proj/b/%zz/proxy/3000/ HTTP/1.1\r\nHost: localhost:3001\r\n${WS_HEADERS}\r\n`,
    );
    expect(statusOf(answer)).toBe(400);
    await expectServerAnswers();
  });

  it("answers the same path over plain HTTP with 400", async () => {
    const answer = await send(
      "GET /org/a/proj/b/%zz/proxy/3000/ HTTP/1.1\r\nHost: localhost:3001\r\nConnection: close\r\n\r\n",
    );
    expect(statusOf(answer)).toBe(400);
    await expectServerAnswers();
  });

  it("answers bad escapes elsewhere, absolute-form targets and bad ports with 4xx", async () => {
    for (const target of [
      "/api/trpc/%zz",
      "/org/%E0%A4%A/proj/b/m/proxy/3000/",
      "http://evil.example/",
      "/org/a/proj/b/mach_x/proxy/99999/",
    ]) {
      const answer = await send(`GET ${target} HTTP/1.1\r\nHost: localhost:3001\r\nConnection: close\r\n\r\n`);
      const status = statusOf(answer);
      expect(status, target).toBeGreaterThanOrEqual(400);
      expect(status, target).toBeLessThan(500);
    }
    await expectServerAnswers();
  });

  it("refuses overlong targets with 414 and overlong headers with 431", async () => {
    const long = await send(`GET /${"a".repeat(9_000)} HTTP/1.1\r\nHost: localhost:3001\r\nConnection: close\r\n\r\n`);
    expect(statusOf(long)).toBe(414);
    const header = await send(
      `GET / HTTP/1.1\r\nHost: localhost:3001\r\nX-Big: ${"b".repeat(20_000)}\r\nConnection: close\r\n\r\n`,
    );
    expect(statusOf(header)).toBe(431);
    await expectServerAnswers();
  });

  it("survives bad upgrade headers on every upgrade path", async () => {
    for (const target of [
      "/api/ws/realtime",
      "/org/a/proj/b/mach_01jxk3y3q8f7v2c9m4n5p6r7s8/proxy/3000/api/pty/ws",
      "/nothing",
    ]) {
      const answer = await send(
        `GET ${target} HTTP/1.1\r\nHost: localhost:3001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: banana\r\n\r\n`,
      );
      const status = statusOf(answer);
      // Either a 4xx or a closed socket; never a 5xx.
      expect(status === 0 || (status >= 400 && status < 500), `${target}: ${answer.slice(0, 40)}`).toBe(true);
    }
    const previewHost = new URL(t.os2.previewOrigin.urlFor("mach_01jxk3y3q8f7v2c9m4n5p6r7s8", 5173)).host;
    const preview = await send(
      `GET / HTTP/1.1\r\nHost: ${previewHost}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`,
    );
    expect(statusOf(preview)).toBe(401);
    await expectServerAnswers();
  });

  it("survives resets in the middle of an upgrade", async () => {
    for (const target of ["/api/ws/realtime", "/org/a/proj/b/mach_01jxk3y3q8f7v2c9m4n5p6r7s8/proxy/3000/api/pty/ws"]) {
      for (const cut of [10, 40, 200]) {
        await new Promise<void>((resolve) => {
          const socket = net.connect(port, "127.0.0.1", () => {
            socket.write(
              `GET ${target} HTTP/1.1\r\nHost: localhost:3001\r\nCookie: a=b\r\nOrigin: http://localhost:3001\r\n${WS_HEADERS}\r\n`.slice(
                0,
                cut,
              ),
            );
            setTimeout(() => {
              socket.resetAndDestroy();
              resolve();
            }, 5);
          });
          socket.on("error", () => resolve());
        });
      }
      // A complete upgrade, reset before the server can answer.
      await new Promise<void>((resolve) => {
        const socket = net.connect(port, "127.0.0.1", () => {
          socket.write(`GET ${target} HTTP/1.1\r\nHost: localhost:3001\r\n${WS_HEADERS}\r\n`);
          socket.resetAndDestroy();
          resolve();
        });
        socket.on("error", () => resolve());
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expectServerAnswers();
  });

  it("does not fall over on a malformed Host header", async () => {
    for (const host of ["[::1", "a b", "%zz", ""]) {
      const answer = await send(`GET /api/health HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      const status = statusOf(answer);
      expect(status === 200 || (status >= 400 && status < 500), `Host ${host}: ${answer.slice(0, 60)}`).toBe(true);
    }
    await expectServerAnswers();
  });
});
