/**
 * Bytes the socket may have queued (`bufferedAmount`) before the terminal's output is paused, and the level
 * it must drain to before reading resumes: a client that cannot keep up slows tmux down (its pty fills)
 * instead of growing the daemon's memory.
 */
export const PTY_HIGH_WATER_BYTES = 256 * 1024;
export const PTY_LOW_WATER_BYTES = 64 * 1024;

/** The terminal side: output that can stop being read. */
export type PausableOutput = { onData(listener: (data: Buffer) => void): void; pause(): void; resume(): void };

/** The socket side, as `ws`'s WebSocket has it: the callback runs once the frame is written out. */
export type BufferedSocket = {
  readonly bufferedAmount: number;
  send(data: Buffer, options: { binary: true }, callback: (error?: Error) => void): void;
};

/** Sends every chunk of `output` as a binary frame, pausing `output` while `socket` is backed up. */
export function relayWithBackpressure(
  output: PausableOutput,
  socket: BufferedSocket,
  marks = { high: PTY_HIGH_WATER_BYTES, low: PTY_LOW_WATER_BYTES },
): void {
  let paused = false;
  // Each frame's callback runs once it is written out, so the last one queued always sees the drain.
  const onWritten = () => {
    if (paused && socket.bufferedAmount <= marks.low) {
      paused = false;
      output.resume();
    }
  };
  output.onData((data) => {
    socket.send(data, { binary: true }, onWritten);
    if (!paused && socket.bufferedAmount > marks.high) {
      paused = true;
      output.pause();
    }
  });
}
