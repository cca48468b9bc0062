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
