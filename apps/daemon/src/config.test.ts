import { describe, expect, it } from "vitest";

import { parseDaemonConfig } from "./config";

describe("the daemon's environment", () => {
  it("refuses an OOM watch interval setTimeout cannot hold (Node would fire it after 1 ms: a look every ms)", () => {
    expect(parseDaemonConfig({ OS2_OOM_IDLE_POLL_MS: String(2 ** 31 - 1) }).oomIdlePollMs).toBe(2 ** 31 - 1);
    expect(() => parseDaemonConfig({ OS2_OOM_IDLE_POLL_MS: String(2 ** 31) })).toThrow(/OS2_OOM_IDLE_POLL_MS/);
    expect(() => parseDaemonConfig({ OS2_OOM_POLL_MS: String(2 ** 31) })).toThrow(/OS2_OOM_POLL_MS/);
  });
});
