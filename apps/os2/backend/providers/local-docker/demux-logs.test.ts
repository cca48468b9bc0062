import { expect, test } from "vitest";

import { demuxDockerLogs, DockerLogDemuxer, LogLineSplitter } from "./demux-logs";

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

test("DockerLogDemuxer splits frames that span chunks, and chunks that hold many frames", () => {
  const bytes = Buffer.concat([frame(1, "out one\n"), frame(2, "err ünï\n"), frame(1, "out two\n")]);
  for (const size of [1, 3, 7, 8, 9, 64]) {
    const demuxer = new DockerLogDemuxer();
    const pieces: { stream: number; text: Buffer }[] = [];
    for (let offset = 0; offset < bytes.length; offset += size)
      for (const piece of demuxer.push(bytes.subarray(offset, offset + size)))
        pieces.push({ stream: piece.stream, text: piece.data });
    const byStream = (stream: number) =>
      Buffer.concat(pieces.filter((p) => p.stream === stream).map((p) => p.text)).toString("utf8");
    expect(byStream(1)).toBe("out one\nout two\n");
    expect(byStream(2)).toBe("err ünï\n");
  }
  const raw = new DockerLogDemuxer();
  expect([...raw.push(Buffer.from("pl")), ...raw.push(Buffer.from("ain tty\n"))].map((p) => p.data.toString())).toEqual(
    ["plain tty\n"],
  );
});

test("LogLineSplitter joins UTF-8 and lines across chunks and cuts an endless line at the cap", () => {
  const splitter = new LogLineSplitter(10, "…");
  const bytes = Buffer.from("héllo\r\nwor");
  expect(splitter.push(bytes.subarray(0, 2))).toEqual([]); // "h" and half of "é"
  expect(splitter.push(bytes.subarray(2))).toEqual(["héllo"]);
  expect(splitter.push(Buffer.from("ld\n"))).toEqual(["world"]);
  expect(splitter.push(Buffer.from("x".repeat(25)))).toEqual(["xxxxxxxxxx…"]);
  expect(splitter.push(Buffer.from("yyy\nnext"))).toEqual([]); // the rest of the cut line is dropped
  expect(splitter.end()).toEqual(["next"]);
});
