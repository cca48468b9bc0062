/**
 * "No keys, no calls": an os2 without POSTHOG_KEY, but with POSTHOG_HOST pointed at the PostHog stand-in,
 * runs the tracked mutations and shuts down without a single request reaching the stand-in. The browser
 * half of the guarantee (no VITE_POSTHOG_PUBLIC_KEY, no posthog-js) is checked on the built bundle.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type PostHogStandin, startPostHogStandin } from "../../test-support/posthog-standin/standin.ts";
import { createTestOs2, type TestOs2 } from "../testing/harness.ts";

const packageDir = fileURLToPath(new URL("../..", import.meta.url));

describe("without POSTHOG_KEY", () => {
  let standin: PostHogStandin;
  let t: TestOs2 | undefined;

  beforeAll(async () => {
    standin = await startPostHogStandin();
  });
  afterAll(async () => {
    await t?.close();
    await standin?.close();
  });

  it("tracked mutations, the /ingest proxy's 404 and shutdown make zero requests to PostHog", async () => {
    t = await createTestOs2({ env: { POSTHOG_HOST: standin.url } });
    expect(t.os2.analytics.state).toBe("disabled");

    const api = t.client({ cookie: await t.signIn("nokeys+test@example.com") });
    const organization = await api.organization.create.mutate({ name: "No Keys" });
    const project = await api.project.create.mutate({ organizationSlug: organization.slug, name: "Quiet" });
    const scope = { organizationSlug: organization.slug, projectSlug: project.slug };
    await api.project.update.mutate({ ...scope, name: "Quieter" });
    const envVar = await api.envVar.set.mutate({ ...scope, key: "SILENT", value: "not-for-posthog" });
    await api.envVar.delete.mutate({ ...scope, id: envVar.id });
    const token = await api.accessToken.create.mutate({ ...scope, name: "ci" });
    await api.accessToken.revoke.mutate({ ...scope, id: token.id });
    await api.project.delete.mutate(scope);

    // Through the real app: a path outside the proxy's allowlist is answered locally.
    const outside = await t.fetch("/ingest/evil/path", { method: "POST", body: "{}" });
    expect(outside.status).toBe(404);

    // close() shuts analytics down, which is when a real client would flush its queue.
    await t.close();
    t = undefined;
    expect(standin.requests.map((request) => `${request.method} ${request.path}`)).toEqual([]);
  });
});

describe("the SPA bundle built without VITE_POSTHOG_PUBLIC_KEY", () => {
  it("contains no PostHog project key", () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "os2-spa-nokeys-"));
    try {
      execFileSync(
        "node_modules/.bin/vite",
        ["build", "--config", "app/vite.config.ts", "--outDir", outDir, "--logLevel", "error"],
        {
          cwd: packageDir,
          // Empty values beat a developer's .env (Vite lets the process environment win).
          env: { ...process.env, VITE_POSTHOG_PUBLIC_KEY: "", VITE_POSTHOG_PROXY_URI: "" },
          stdio: "pipe",
        },
      );
      const assetsDir = path.join(outDir, "assets");
      const scripts = fs.readdirSync(assetsDir).filter((name) => name.endsWith(".js"));
      expect(scripts.length).toBeGreaterThan(0);
      for (const name of scripts) {
        const source = fs.readFileSync(path.join(assetsDir, name), "utf8");
        expect(source, name).not.toMatch(/phc_[A-Za-z0-9]/);
      }
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  });
});
