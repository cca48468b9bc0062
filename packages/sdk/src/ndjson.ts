/**
 * Splits a byte stream of newline-delimited JSON into parsed values. Chunks arrive cut anywhere, even
 * inside a multi-byte character, so bytes are decoded with a streaming decoder and lines are only parsed
 * once their newline has arrived (or the stream ended).
 */
export async function* parseNdjson(stream: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let pending = "";
  let lineNumber = 0;
  const parse = (line: string): unknown => {
    lineNumber += 1;
    try {
      return JSON.parse(line);
    } catch {
      throw new SyntaxError(`NDJSON line ${lineNumber} is not JSON: ${JSON.stringify(line.slice(0, 200))}`);
    }
  };
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) !== -1) {
      const line = pending.slice(0, newline).replace(/\r$/, "");
      pending = pending.slice(newline + 1);
      if (line.trim() !== "") yield parse(line);
    }
  }
  pending += decoder.decode();
  if (pending.trim() !== "") yield parse(pending.replace(/\r$/, ""));
}

/** A fetch body as an async iterable (Node's web streams are iterable, browsers' not everywhere). */
export async function* iterateBody(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    // Stops the download when the consumer leaves early (an exit line, an abort, an exception).
    await reader.cancel().catch(() => undefined);
  }
}
