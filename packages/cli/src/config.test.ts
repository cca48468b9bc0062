import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { configPath, readConfig, removeConfig, resolveCredentials, writeConfig } from "./config";

const dirs: string[] = [];
const scratch = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "os2-cli-config-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe("config file", () => {
  it("lives under $XDG_CONFIG_HOME/os2, else ~/.config/os2", () => {
    expect(configPath({ XDG_CONFIG_HOME: "/x/cfg", HOME: "/home/a" })).toBe("/x/cfg/os2/config.json");
    expect(configPath({ HOME: "/home/a" })).toBe("/home/a/.config/os2/config.json");
    // The XDG spec says a relative value is to be ignored.
    expect(configPath({ XDG_CONFIG_HOME: "rel", HOME: "/home/a" })).toBe("/home/a/.config/os2/config.json");
  });

  it("is written readable by its owner only, in a directory only the owner can enter, even under a loose umask", () => {
    const file = path.join(scratch(), "nested", "os2", "config.json");
    const umask = process.umask(0o000);
    try {
      writeConfig({ url: "http://localhost:3001", token: "pat_secret" }, file);
    } finally {
      process.umask(umask);
    }
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(readConfig(file)).toEqual({ url: "http://localhost:3001", token: "pat_secret" });
  });

  it("tightens an existing file that was world-readable when saving over it", () => {
    const file = path.join(scratch(), "config.json");
    fs.writeFileSync(file, "{}", { mode: 0o644 });
    writeConfig({ url: "http://a.example", token: "pat_1" }, file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.dirname(file))).toEqual(["config.json"]); // no temporary left behind
  });

  it("answers nothing when missing, and a hint when broken", () => {
    const dir = scratch();
    expect(readConfig(path.join(dir, "none.json"))).toBeUndefined();
    fs.writeFileSync(path.join(dir, "bad.json"), "{not json");
    expect(() => readConfig(path.join(dir, "bad.json"))).toThrow(/os2 login/);
  });

  it("logout removes it, and a second logout is not an error", () => {
    const file = path.join(scratch(), "config.json");
    writeConfig({ url: "http://a.example", token: "pat_1" }, file);
    expect(removeConfig(file)).toBe(true);
    expect(removeConfig(file)).toBe(false);
  });
});

describe("resolveCredentials", () => {
  it("lets OS2_URL and OS2_TOKEN each override the saved value", () => {
    const file = path.join(scratch(), "config.json");
    writeConfig({ url: "http://saved.example", token: "pat_saved" }, file);
    expect(resolveCredentials({}, file)).toEqual({ url: "http://saved.example", token: "pat_saved", source: "file" });
    expect(resolveCredentials({ OS2_TOKEN: "pat_env" }, file)).toEqual({
      url: "http://saved.example",
      token: "pat_env",
      source: "mixed",
    });
    expect(resolveCredentials({ OS2_URL: "http://env.example", OS2_TOKEN: "pat_env" }, file)).toMatchObject({
      url: "http://env.example",
      source: "env",
    });
  });

  it("needs both a URL and a token", () => {
    const file = path.join(scratch(), "none.json");
    expect(resolveCredentials({ OS2_URL: "http://env.example" }, file)).toBeUndefined();
  });
});
