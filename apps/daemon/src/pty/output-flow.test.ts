import { describe, expect, it } from "vitest";

import { type BufferedSocket, type PausableOutput, relayWithBackpressure } from "./output-flow";

/** A terminal whose reads can be paused, and a socket whose queue grows until frames are written out. */
function fakes() {
  let listener: ((data: Buffer) => void) | undefined;
  const calls: string[] = [];
  const output: PausableOutput = {
    onData: (l) => (listener = l),
    pause: () => calls.push("pause"),
    resume: () => calls.push("resume"),
  };
  const queued: { size: number; done: () => void }[] = [];
  const sent: Buffer[] = [];
  const socket: BufferedSocket = {
    get bufferedAmount() {
      return queued.reduce((sum, frame) => sum + frame.size, 0);
    },
    send: (data, _options, done) => {
      sent.push(data);
      queued.push({ size: data.length, done });
    },
  };
  /** Writes the oldest `n` queued frames out, running their callbacks as ws does. */
  const writeOut = (n: number) => {
    for (const frame of queued.splice(0, n)) frame.done();
  };
  return { output, socket, emit: (data: Buffer) => listener?.(data), calls, sent, writeOut };
}

describe("relayWithBackpressure", () => {
  const marks = { high: 300, low: 100 };

  it("pauses the terminal's output once the socket holds more than the high-water mark", () => {
    const f = fakes();
    relayWithBackpressure(f.output, f.socket, marks);
    for (let i = 0; i < 3; i++) f.emit(Buffer.alloc(100));
    expect(f.calls).toEqual([]); // 300 bytes queued: at the mark, not above it
    f.emit(Buffer.alloc(100));
    expect(f.calls).toEqual(["pause"]);
    expect(f.sent).toHaveLength(4); // nothing is dropped
  });

  it("resumes only after the socket drained to the low-water mark, and pauses again when it backs up", () => {
    const f = fakes();
    relayWithBackpressure(f.output, f.socket, marks);
    for (let i = 0; i < 4; i++) f.emit(Buffer.alloc(100));
    expect(f.calls).toEqual(["pause"]);
    f.writeOut(2); // 200 bytes still queued: above the low mark
    expect(f.calls).toEqual(["pause"]);
    f.writeOut(1); // 100 bytes queued: drained enough
    expect(f.calls).toEqual(["pause", "resume"]);
    f.writeOut(1);
    expect(f.calls).toEqual(["pause", "resume"]); // resumed once, not once per frame
    for (let i = 0; i < 4; i++) f.emit(Buffer.alloc(100));
    expect(f.calls).toEqual(["pause", "resume", "pause"]);
  });
});
