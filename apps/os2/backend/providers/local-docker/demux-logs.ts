import { StringDecoder } from "node:string_decoder";

/**
 * Docker multiplexes a non-TTY container's stdout and stderr into one byte stream of frames:
 * an 8-byte header (stream type 0/1/2, three zero bytes, big-endian uint32 payload length), then the
 * payload. os2 containers run without a TTY, so logs always arrive framed; a raw buffer (TTY containers,
 * or a proxy that already demultiplexed) is returned as text unchanged.
 */
export function demuxDockerLogs(buffer: Buffer): string {
  if (!looksFramed(buffer)) return buffer.toString("utf8");
  const chunks: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const length = buffer.readUInt32BE(offset + 4);
    const start = offset + 8;
    chunks.push(buffer.subarray(start, Math.min(start + length, buffer.length)));
    offset = start + length;
  }
  return Buffer.concat(chunks).toString("utf8");
}

function looksFramed(buffer: Buffer): boolean {
  if (buffer.length < 8) return false;
  const streamType = buffer[0] ?? 255;
  return streamType <= 2 && buffer[1] === 0 && buffer[2] === 0 && buffer[3] === 0;
}

/**
 * Docker's framed log stream, demultiplexed as it arrives: frames may span chunks, and a chunk may hold
 * many frames. Holds at most a frame header (8 bytes) between chunks; payloads are handed on at once.
 */
export class DockerLogDemuxer {
  private header = Buffer.alloc(0);
  private remaining = 0;
  private stream = 1;
  private framed: boolean | null = null;
  private probe = Buffer.alloc(0);

  /** The payload bytes in `chunk`, each with the stream it came from (1 stdout, 2 stderr; 1 when unframed). */
  push(input: Buffer): { stream: number; data: Buffer }[] {
    let chunk = input;
    if (this.framed === null) {
      // The first 4 bytes tell a frame header (type 0-2, three zero bytes) from raw TTY output.
      this.probe = Buffer.concat([this.probe, chunk]);
      if (this.probe.length < 4) return [];
      const [type = 255, a, b, c] = this.probe;
      this.framed = type <= 2 && a === 0 && b === 0 && c === 0;
      chunk = this.probe;
      this.probe = Buffer.alloc(0);
    }
    if (!this.framed) return [{ stream: 1, data: chunk }];
    const out: { stream: number; data: Buffer }[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - offset);
        out.push({ stream: this.stream, data: chunk.subarray(offset, offset + take) });
        this.remaining -= take;
        offset += take;
        continue;
      }
      const need = 8 - this.header.length;
      this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + need)]);
      offset += Math.min(need, chunk.length - offset);
      if (this.header.length < 8) break;
      this.stream = this.header[0] === 2 ? 2 : 1;
      this.remaining = this.header.readUInt32BE(4);
      this.header = Buffer.alloc(0);
    }
    return out;
  }
}

/**
 * Bytes to whole lines: UTF-8 split across chunks is joined, and a line longer than `maxChars` is cut and
 * marked (the rest of it, up to its newline, is dropped), so one endless line cannot grow a buffer.
 */
export class LogLineSplitter {
  private readonly decoder = new StringDecoder("utf8");
  private partial = "";
  private cut = false;

  constructor(
    private readonly maxChars: number,
    private readonly cutMark: string,
  ) {}

  push(data: Buffer): string[] {
    const text = this.decoder.write(data);
    const lines: string[] = [];
    let start = 0;
    for (let newline = text.indexOf("\n"); newline !== -1; newline = text.indexOf("\n", start)) {
      if (this.cut) this.cut = false;
      else lines.push(this.limit(this.partial + text.slice(start, newline)));
      this.partial = "";
      start = newline + 1;
    }
    if (!this.cut) {
      this.partial += text.slice(start);
      if (this.partial.length > this.maxChars) {
        lines.push(this.limit(this.partial));
        this.partial = "";
        this.cut = true;
      }
    }
    return lines;
  }

  /** What is left when the stream ends: a last line without its newline. */
  end(): string[] {
    const rest = this.partial + this.decoder.end();
    this.partial = "";
    return rest && !this.cut ? [this.limit(rest)] : [];
  }

  private limit(line: string): string {
    const trimmed = line.endsWith("\r") ? line.slice(0, -1) : line;
    return trimmed.length > this.maxChars ? trimmed.slice(0, this.maxChars) + this.cutMark : trimmed;
  }
}
