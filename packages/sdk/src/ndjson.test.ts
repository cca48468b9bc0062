import { describe, expect, it } from "vitest";

import { parseNdjson } from "./ndjson";

async function collect(chunks: Uint8Array[]): Promise<unknown[]> {
  async function* source() {
    for (const chunk of chunks) yield chunk;
  }
  const out: unknown[] = [];
  for await (const value of parseNdjson(source())) out.push(value);
  return out;
}

const bytes = (text: string) => new TextEncoder().encode(text);

describe("parseNdjson", () => {
  it("yields each line once its newline arrives, however the chunks cut the lines", async () => {
    const text = '{"type":"stdout","data":"a"}\n{"type":"stderr","data":"b"}\n{"type":"exit","exitCode":3}\n';
    const all = bytes(text);
    const expected = [
      { type: "stdout", data: "a" },
      { type: "stderr", data: "b" },
      { type: "exit", exitCode: 3 },
    ];
    // Every split point, and one byte per chunk.
    for (let cut = 0; cut <= all.length; cut++) {
      expect(await collect([all.slice(0, cut), all.slice(cut)])).toEqual(expected);
    }
    expect(await collect([...all].map((b) => Uint8Array.of(b)))).toEqual(expected);
  });

  it("keeps a multi-byte character intact when a chunk boundary falls inside it", async () => {
    const all = bytes('{"data":"héllo → 🌍"}\n');
    const emoji = all.indexOf(0xf0);
    const out = await collect([all.slice(0, emoji + 2), all.slice(emoji + 2)]);
    expect(out).toEqual([{ data: "héllo → 🌍" }]);
  });

  it("parses a last line without a newline, and skips blank lines and CRLF endings", async () => {
    expect(await collect([bytes('{"a":1}\r\n\n  \n{"b":2}')])).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it("fails naming the line when a line is not JSON, instead of skipping output", async () => {
    await expect(collect([bytes('{"a":1}\nnot json\n')])).rejects.toThrow(/line 2 is not JSON/);
  });
});
