import { describe, expect, it } from "vitest";

import { parseStat } from "./activity";

describe("parseStat", () => {
  it("reads the process group, session and terminal foreground group after a command name with spaces and parentheses", () => {
    const line = "4242 (my (odd) cmd) S 1 4242 4242 34816 4300 4194304 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0";
    expect(parseStat(line)).toEqual({
      pid: 4242,
      comm: "my (odd) cmd",
      state: "S",
      pgrp: 4242,
      session: 4242,
      tpgid: 4300,
    });
  });

  it("refuses a line that is not a stat line", () => {
    expect(parseStat("garbage")).toBeUndefined();
  });
});
