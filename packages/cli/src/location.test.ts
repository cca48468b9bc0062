import { describe, expect, it } from "vitest";

import { parseLocation, remoteBasename, remoteTargetPath } from "./location";

describe("parseLocation", () => {
  it("reads machine:path as remote, with machine ids and names", () => {
    expect(parseLocation("scratch:app/a.txt")).toEqual({ kind: "remote", machine: "scratch", path: "app/a.txt" });
    expect(parseLocation("mach_01jx:/etc/hosts")).toEqual({ kind: "remote", machine: "mach_01jx", path: "/etc/hosts" });
    expect(parseLocation("m:")).toEqual({ kind: "remote", machine: "m", path: "" });
  });

  it("keeps a path with a colon local when a slash comes first, as scp does", () => {
    expect(parseLocation("./a:b")).toEqual({ kind: "local", path: "./a:b" });
    expect(parseLocation("/tmp/x:y")).toEqual({ kind: "local", path: "/tmp/x:y" });
    expect(parseLocation("plain.txt")).toEqual({ kind: "local", path: "plain.txt" });
    expect(parseLocation(":odd")).toEqual({ kind: "local", path: ":odd" });
  });

  it("splits at the first colon, so the remote path may hold colons", () => {
    expect(parseLocation("m:a:b")).toEqual({ kind: "remote", machine: "m", path: "a:b" });
  });

  it("reads - as stdin or stdout", () => {
    expect(parseLocation("-")).toEqual({ kind: "stdio" });
  });
});

describe("remote targets", () => {
  it("an empty path or a trailing slash keeps the file's own name", () => {
    expect(remoteTargetPath("", "a.bin")).toBe("a.bin");
    expect(remoteTargetPath("dir/", "a.bin")).toBe("dir/a.bin");
    expect(remoteTargetPath("dir/b.bin", "a.bin")).toBe("dir/b.bin");
    expect(remoteBasename("/x/y/z.txt")).toBe("z.txt");
  });
});
