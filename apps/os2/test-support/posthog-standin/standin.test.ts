import { appendFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { bodyTextOf, readStandinLog, toLogLine } from "./log.ts";
import { type PostHogStandin, startPostHogStandin } from "./standin.ts";

let standin: PostHogStandin;
beforeEach(async () => {
  standin = await startPostHogStandin();
});
afterEach(async () => {
  await standin.close();
});

const batch = (event: string) => ({
  api_key: "phc_test",
  batch: [{ event, properties: { distinct_id: "user-1", token: "phc_test" }, uuid: "u-1" }],
});

describe("PostHog stand-in", () => {
  it("answers the event endpoints with exactly 200 {} so posthog-js does not retry", async () => {
    for (const path of ["/e/", "/s/", "/i/v0/e/", "/batch/"]) {
      const response = await fetch(`${standin.url}${path}`, { method: "POST", body: JSON.stringify(batch("x")) });
      expect(response.status, path).toBe(200);
      expect(await response.text(), path).toBe("{}");
    }
  });

  it("decodes gzip bytes sent as text/plain without Content-Encoding, as posthog-js does", async () => {
    await fetch(`${standin.url}/e/?compression=gzip-js`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: gzipSync(JSON.stringify(batch("$pageview"))),
    });
    expect(standin.events()).toMatchObject([{ endpoint: "/e/", event: "$pageview", distinctId: "user-1" }]);
  });

  it("decodes form data=<base64> bodies and bare replay arrays", async () => {
    const data = Buffer.from(JSON.stringify(batch("$identify"))).toString("base64");
    await fetch(`${standin.url}/e/?compression=base64`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ data }).toString(),
    });
    const snapshot = { event: "$snapshot", properties: { distinct_id: "user-1", $session_id: "s-1" } };
    await fetch(`${standin.url}/s/`, { method: "POST", body: JSON.stringify([snapshot]) });
    expect(standin.events().map((e) => [e.endpoint, e.event, e.apiKey])).toEqual([
      ["/e/", "$identify", "phc_test"],
      ["/s/", "$snapshot", undefined],
    ]);
  });

  it("records raw request bytes and headers", async () => {
    const body = gzipSync(JSON.stringify(batch("raw")));
    await fetch(`${standin.url}/batch/`, {
      method: "POST",
      headers: { "content-encoding": "gzip", "x-probe": "1" },
      body,
    });
    const [recorded] = standin.requests;
    expect(recorded?.body.equals(body)).toBe(true);
    expect(recorded?.headers["x-probe"]).toBe("1");
    expect(recorded?.headers["content-encoding"]).toBe("gzip");
  });

  it("serves the replay-enabling remote config, a 404 for config.js, and empty flags", async () => {
    expect((await fetch(`${standin.url}/array/phc_test/config.js`)).status).toBe(404);
    const config: unknown = await (await fetch(`${standin.url}/array/phc_test/config`)).json();
    expect(config).toEqual({
      supportedCompression: ["gzip-js"],
      sessionRecording: { endpoint: "/s/" },
      autocapture_opt_out: false,
    });
    const flags: unknown = await (await fetch(`${standin.url}/flags/?v=2`, { method: "POST", body: "{}" })).json();
    expect(flags).toEqual({ flags: {} });
  });

  it("serves posthog-js's real lazy-recorder bundle, versioned or not", async () => {
    for (const path of ["/static/1.449.2/lazy-recorder.js", "/static/lazy-recorder.js"]) {
      const response = await fetch(`${standin.url}${path}`);
      expect(response.status, path).toBe(200);
      expect((await response.text()).length, path).toBeGreaterThan(10_000);
    }
  });

  it("answers unknown paths 404 but still records them", async () => {
    const response = await fetch(`${standin.url}/api/projects/`, { method: "POST", body: "{}" });
    expect(response.status).toBe(404);
    expect(standin.requests.map((r) => [r.method, r.path, r.status])).toEqual([["POST", "/api/projects/", 404]]);
  });
});

describe("stand-in NDJSON log", () => {
  it("round-trips requests with decoded events and a scannable body", async () => {
    const dir = await mkdtemp(join(tmpdir(), "posthog-standin-"));
    const file = join(dir, "log.ndjson");
    const logged = await startPostHogStandin({
      onRequest: (request) => appendFileSync(file, `${JSON.stringify(toLogLine(request))}\n`),
    });
    try {
      expect(await readStandinLog(file)).toEqual([]);
      await fetch(`${logged.url}/batch/`, { method: "POST", body: gzipSync(JSON.stringify(batch("planted-event"))) });
      await fetch(`${logged.url}/nope`);
      const lines = await readStandinLog(file);
      expect(lines.map((l) => [l.path, l.status, l.events.map((e) => e.event)])).toEqual([
        ["/batch/", 200, ["planted-event"]],
        ["/nope", 404, []],
      ]);
      expect(lines[0] && bodyTextOf(lines[0])).toContain("planted-event");
    } finally {
      await logged.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
