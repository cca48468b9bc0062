import { describe, expect, it } from "vitest";

import { warmUpRequestPaths } from "./warm-up";

describe("warmUpRequestPaths", () => {
  it("reads a streamed JSON body through a web Request and parses the claim schemas without throwing", async () => {
    await expect(warmUpRequestPaths()).resolves.toBeUndefined();
  });
});
