import { describe, expect, it } from "vitest";

import { childEnvironmentFixes, describePathError, describeUser } from "./user";

const os2 = { uid: 1000, name: "os2", home: "/home/os2" };

describe("the user the daemon runs as", () => {
  it("gives children the user's own home when the inherited HOME is one it may not write (root's)", () => {
    const fixes = childEnvironmentFixes({ HOME: "/root", USER: "root" }, os2, (dir) => dir !== "/root");
    expect(fixes).toEqual({ HOME: "/home/os2", USER: "os2", LOGNAME: "os2" });
  });

  it("keeps an inherited HOME the user can write, and sets one when there is none", () => {
    expect(childEnvironmentFixes({ HOME: "/data/home", USER: "os2", LOGNAME: "os2" }, os2, () => true)).toEqual({});
    expect(childEnvironmentFixes({ USER: "os2", LOGNAME: "os2" }, os2, () => true)).toEqual({ HOME: "/home/os2" });
  });

  it("leaves HOME and USER alone for a uid without a passwd entry", () => {
    const anonymous = { uid: 4321, name: "uid 4321", home: undefined };
    expect(childEnvironmentFixes({ HOME: "/root" }, anonymous, () => false)).toEqual({});
    expect(describeUser(anonymous)).toBe("uid 4321");
  });

  it("names the path, the reason and the daemon's user when a write is refused", () => {
    const denied = Object.assign(new Error("EACCES: permission denied, open '/var/lib/os2/agents.json'"), {
      code: "EACCES",
    });
    expect(describePathError("write", "/var/lib/os2/agents.json", denied)).toBe(
      `cannot write /var/lib/os2/agents.json: permission denied (EACCES); the daemon runs as ${describeUser()}`,
    );
    const full = Object.assign(new Error("ENOSPC"), { code: "ENOSPC" });
    expect(describePathError("write", "/workspace/x", full)).toBe(
      "cannot write /workspace/x: no space left on the device (ENOSPC)",
    );
  });
});
