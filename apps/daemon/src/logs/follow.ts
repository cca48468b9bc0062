import { type FileHandle, open, stat } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
import { setTimeout as sleep } from "node:timers/promises";

import { LOG_LINE_CUT_MARK, LOG_LINE_MAX_CHARS, LOGS_KEEPALIVE_MS, type LogsStreamEvent } from "@os2/protocol";

// Reading only the file's tail keeps a request cheap however large `current` has grown before rotation.
export const TAIL_BYTES = 1024 * 1024;
/** How much one read takes from the file; one read becomes at most one `lines` event. */
const CHUNK_BYTES = 64 * 1024;
/** Bytes the stream holds for a slow reader before it stops reading the file (see `pull`). */
const STREAM_HIGH_WATER_BYTES = 256 * 1024;
const POLL_MS = 200;

/** Cuts a line longer than LOG_LINE_MAX_CHARS and marks the cut. */
export function cutLine(line: string): string {
  return line.length > LOG_LINE_MAX_CHARS ? line.slice(0, LOG_LINE_MAX_CHARS) + LOG_LINE_CUT_MARK : line;
}

/**
 * The last lines of an open log file, and the offset they end at (where a follow goes on from). With
 * `wholeLinesOnly`, a last line still missing its newline is left out (the follow sends it once whole).
 */
export async function readTail(
  handle: FileHandle,
  lines: number,
  { wholeLinesOnly = false } = {},
): Promise<{ lines: string[]; size: number }> {
  const { size } = await handle.stat();
  const length = Math.min(size, TAIL_BYTES);
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, size - length);
  const end = wholeLinesOnly ? buffer.lastIndexOf(0x0a, bytesRead - 1) + 1 : bytesRead;
  let text = buffer.subarray(0, end).toString("utf8");
  // Drop the first, probably partial, line when we did not start at the beginning.
  if (length < size) text = text.slice(text.indexOf("\n") + 1);
  const all = text.split("\n").filter((line) => line.length > 0);
  return { lines: all.slice(-lines).map(cutLine), size: size - length + end };
}

export type FollowOptions = {
  service: string;
  /** The `current` file; s6-log renames it and starts a new one when it rotates. */
  file: string;
  handle: FileHandle;
  tailLines: number;
  signal: AbortSignal;
  pollMs?: number;
  keepaliveMs?: number;
};

/**
 * A followed log as an NDJSON byte stream: the tail, then lines as they are appended, across rotations.
 *
 * Backpressure: the file is read only in `pull`, which the stream calls only while its queue (bounded by
 * STREAM_HIGH_WATER_BYTES) has room, and the HTTP server pulls only while the socket drains. A reader
 * that stops reading therefore stops the file reads too; nothing piles up in memory.
 */
export function followLog(options: FollowOptions): ReadableStream<Uint8Array> {
  const pollMs = options.pollMs ?? POLL_MS;
  const keepaliveMs = options.keepaliveMs ?? LOGS_KEEPALIVE_MS;
  const encoder = new TextEncoder();
  const abort = new AbortController();
  options.signal.addEventListener("abort", () => abort.abort(), { once: true });
  let handle: FileHandle | null = options.handle;
  let inode = 0;
  let position = 0;
  let decoder = new StringDecoder("utf8");
  // The line being written, not yet ended by a newline; `cut` once it went over the cap (the rest of it,
  // up to its newline, is dropped).
  let partial = "";
  let cut = false;
  let lastSent = Date.now();

  const encode = (event: LogsStreamEvent | null) => {
    lastSent = Date.now();
    return encoder.encode(event ? `${JSON.stringify(event)}\n` : "\n");
  };
  const close = async () => {
    abort.abort();
    const current = handle;
    handle = null;
    await current?.close().catch(() => undefined);
  };

  /** Complete lines in `text` (after what is left of the previous read); keeps the unfinished one. */
  const takeLines = (text: string): string[] => {
    const lines: string[] = [];
    let start = 0;
    for (let newline = text.indexOf("\n"); newline !== -1; newline = text.indexOf("\n", start)) {
      const piece = text.slice(start, newline);
      if (cut) cut = false;
      else lines.push(cutLine(partial + piece));
      partial = "";
      start = newline + 1;
    }
    if (!cut) {
      partial += text.slice(start);
      if (partial.length > LOG_LINE_MAX_CHARS) {
        lines.push(cutLine(partial));
        partial = "";
        cut = true;
      }
    }
    return lines;
  };

  /** s6-log renamed `current` (or it was truncated): the rest of the old file was read; go on with the new one. */
  const reopen = async (): Promise<boolean> => {
    const next = await stat(options.file).catch(() => null);
    if (!next) return false; // Between the rename and the new file: look again later.
    if (next.ino === inode) {
      if (next.size >= position) return false;
      position = 0; // Truncated in place.
    } else {
      const fresh = await open(options.file, "r").catch(() => null);
      if (!fresh) return false;
      await handle?.close().catch(() => undefined);
      handle = fresh;
      inode = (await fresh.stat()).ino;
      position = 0;
    }
    decoder = new StringDecoder("utf8");
    partial = "";
    cut = false;
    return true;
  };

  const buffer = Buffer.alloc(CHUNK_BYTES);
  return new ReadableStream<Uint8Array>(
    {
      async start(controller) {
        const tail = await readTail(options.handle, options.tailLines, { wholeLinesOnly: true });
        inode = (await options.handle.stat()).ino;
        position = tail.size;
        controller.enqueue(encode({ type: "tail", service: options.service, lines: tail.lines }));
      },
      // Called only while the queue has room: one read of the file, or a wait for it to grow.
      async pull(controller) {
        try {
          while (!abort.signal.aborted && handle) {
            const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, position);
            if (bytesRead > 0) {
              position += bytesRead;
              const lines = takeLines(decoder.write(buffer.subarray(0, bytesRead)));
              if (lines.length === 0) continue;
              controller.enqueue(encode({ type: "lines", lines }));
              return;
            }
            if (await reopen()) {
              controller.enqueue(encode({ type: "rotated" }));
              return;
            }
            if (Date.now() - lastSent >= keepaliveMs) {
              controller.enqueue(encode(null));
              return;
            }
            await sleep(pollMs, undefined, { signal: abort.signal }).catch(() => undefined);
          }
          // The request ended: end the stream (it may already be cancelled).
          await close();
          try {
            controller.close();
          } catch {
            // Already closed by a cancel.
          }
        } catch (error) {
          if (abort.signal.aborted) return;
          await close();
          controller.error(error);
        }
      },
      // The client went away.
      cancel: close,
    },
    { highWaterMark: STREAM_HIGH_WATER_BYTES, size: (chunk) => chunk.byteLength },
  );
}
