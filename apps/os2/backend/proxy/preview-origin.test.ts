import { describe, expect, it } from "vitest";

import { PreviewOrigin } from "./preview-origin.ts";

const MACHINE = "mach_01jxk3y3q8f7v2c9m4n5p6r7s8";

describe("preview origin", () => {
  it("gives each port of each machine its own host, and reads machine and port back from Host", () => {
    const origin = PreviewOrigin.defaultFor(3001);
    const url = origin.urlFor(MACHINE, 5173);
    expect(url).toBe("http://5173--mach-01jxk3y3q8f7v2c9m4n5p6r7s8.localhost:3001");
    expect(origin.match(new URL(url).host)).toEqual({ machineId: MACHINE, port: 5173 });
    expect(origin.match(new URL(origin.urlFor(MACHINE, 3000)).host)).toEqual({ machineId: MACHINE, port: 3000 });
  });

  it("does not take the dashboard's host, other ports of the server or look-alike hosts for previews", () => {
    const origin = PreviewOrigin.defaultFor(3001);
    for (const host of [
      "localhost:3001",
      "127.0.0.1:3001",
      "5173--mach-01jxk3y3q8f7v2c9m4n5p6r7s8.localhost:3002",
      "5173--mach-01jxk3y3q8f7v2c9m4n5p6r7s8.localhost",
      "5173--mach-01jxk3y3q8f7v2c9m4n5p6r7s8.localhost.evil.com:3001",
      "x5173--mach-01jxk3y3q8f7v2c9m4n5p6r7s8.localhost:3001",
      "99999--mach-01jxk3y3q8f7v2c9m4n5p6r7s8.localhost:3001",
      "5173--mach-01jxk3y3q8f7v2c9m4n5p6r7s.localhost:3001",
      "",
    ]) {
      expect(origin.match(host), host).toBeNull();
    }
  });

  it("follows a production template with a wildcard domain", () => {
    const origin = PreviewOrigin.fromTemplate("https://{port}--{machine}.preview.example.com");
    expect(origin.secure).toBe(true);
    expect(origin.urlFor(MACHINE, 8888)).toBe("https://8888--mach-01jxk3y3q8f7v2c9m4n5p6r7s8.preview.example.com");
    expect(origin.match("8888--mach-01jxk3y3q8f7v2c9m4n5p6r7s8.preview.example.com")).toEqual({
      machineId: MACHINE,
      port: 8888,
    });
    expect(origin.match("8888--mach-01jxk3y3q8f7v2c9m4n5p6r7s8.previewxexample.com")).toBeNull();
    expect(origin.isOriginOfMachine("https://3000--mach-01jxk3y3q8f7v2c9m4n5p6r7s8.preview.example.com", MACHINE)).toBe(
      true,
    );
    expect(origin.isOriginOfMachine("http://3000--mach-01jxk3y3q8f7v2c9m4n5p6r7s8.preview.example.com", MACHINE)).toBe(
      false,
    );
    expect(origin.isOriginOfMachine("https://app.example.com", MACHINE)).toBe(false);
  });

  it("refuses templates that cannot work, naming OS2_PREVIEW_URL", () => {
    for (const template of [
      "https://preview.example.com",
      "https://{port}.preview.example.com",
      "https://preview.example.com/{port}/{machine}",
      "ftp://{port}--{machine}.example.com",
      "not a url {port} {machine}",
    ]) {
      expect(() => PreviewOrigin.fromTemplate(template), template).toThrow(/OS2_PREVIEW_URL/);
    }
  });
});
