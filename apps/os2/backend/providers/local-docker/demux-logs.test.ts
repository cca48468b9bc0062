import { expect, test } from "vitest";

import { demuxDockerLogs } from "./demux-logs";

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text, "utf8");
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

test("demuxDockerLogs joins stdout and stderr frames in order without their headers", () => {
  const buffer = Buffer.concat([frame(1, "out one\n"), frame(2, "err ünï\n"), frame(1, "out two\n")]);
  expect(demuxDockerLogs(buffer)).toBe("out one\nerr ünï\nout two\n");
});

test("demuxDockerLogs keeps a truncated last frame's bytes and passes unframed (TTY) output through", () => {
  const truncated = frame(1, "complete line\n").subarray(0, 8 + 8);
  expect(demuxDockerLogs(truncated)).toBe("complete");
  expect(demuxDockerLogs(Buffer.from("plain tty output\n"))).toBe("plain tty output\n");
  expect(demuxDockerLogs(Buffer.alloc(0))).toBe("");
});
