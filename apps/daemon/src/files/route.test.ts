import { fileReadResponseSchema, filesListResponseSchema } from "@os2/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestDaemon, type TestDaemon } from "../test-support";

describe("/api/files", () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    daemon = await createTestDaemon({ filesMaxBytes: 1024 });
  });
  afterAll(() => daemon.cleanup());

  const write = (json: unknown) => daemon.call("/api/files/write", { method: "PUT", json });

  it("writes a file (creating parents) and reads it back", async () => {
    const res = await write({ path: "notes/a.txt", content: "héllo\n" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ path: `${daemon.config.workspaceDir}/notes/a.txt`, size: 7 });
    const read = fileReadResponseSchema.parse(await (await daemon.call("/api/files/read?path=notes/a.txt")).json());
    expect(read).toMatchObject({ content: "héllo\n", size: 7, encoding: "utf8" });
  });

  it("round-trips binary content as base64", async () => {
    const content = Buffer.from([0, 255, 1, 2]).toString("base64");
    expect((await write({ path: "bin.dat", content, encoding: "base64" })).status).toBe(200);
    const read = await (await daemon.call("/api/files/read?path=bin.dat&encoding=base64")).json();
    expect(read.content).toBe(content);
  });

  it("lists a directory with entry types", async () => {
    const body = filesListResponseSchema.parse(await (await daemon.call("/api/files/list?path=notes")).json());
    expect(body.entries).toEqual([expect.objectContaining({ name: "a.txt", type: "file", size: 7 })]);
  });

  it("answers 413 to a write over the cap", async () => {
    const res = await write({ path: "big.txt", content: "x".repeat(1025) });
    expect(res.status).toBe(413);
    expect((await res.json()).message).toMatch(/OS2_FILES_MAX_BYTES/);
  });

  it("answers 413 to a request body far over the cap before parsing it", async () => {
    const res = await write({ path: "big.txt", content: "x".repeat(200_000) });
    expect(res.status).toBe(413);
  });

  it("answers 413 to reading a file over the cap", async () => {
    await daemon.call("/api/exec", {
      method: "POST",
      json: { command: "sh", args: ["-c", "head -c 2000 /dev/zero > big.bin"] },
    });
    expect((await daemon.call("/api/files/read?path=big.bin")).status).toBe(413);
  });

  it("answers 404 for a missing file and 400 without a path", async () => {
    expect((await daemon.call("/api/files/read?path=missing.txt")).status).toBe(404);
    const res = await daemon.call("/api/files/read");
    expect(res.status).toBe(400);
    expect((await res.json()).field).toBe("path");
  });
});
