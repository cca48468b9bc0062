/**
 * The warm pool in the browser, on a server with a shared pool of 1 (the main e2e server runs without one):
 * the admin page lists the member the reconciler's leader boots with its state and age, and a project's
 * settings page asks for a warm machine of its own, which boots and is listed as kept for that project.
 */
import { fileURLToPath } from "node:url";

import { expect, test } from "@playwright/test";

import { E2E_PORT } from "./e2e-server.ts";
import { createProject, DashboardApi, signIn } from "./machine-fixture.ts";
import { startOs2Process } from "./os2-process.ts";

const SCREENSHOT_DIR = fileURLToPath(new URL("../../../docs/screenshots/", import.meta.url));

test("the admin page lists the warm pool's members with their state and age, and a project's own warm machine boots once asked for in its settings", async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const port = E2E_PORT + 7;
  const base = `http://localhost:${port}`;
  const email = "pool-admin+test@example.com";
  const server = await startOs2Process({
    port,
    stage: "e2e-warm-pool",
    dataDir: `.tmp/e2e-warm-pool-${port}`,
    publicUrl: base,
    fresh: true,
    env: { OS2_WARM_POOL_SIZE: "1", OS2_ADMIN_EMAILS: email },
  });
  const context = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    await signIn(page, email);
    await page.goto("/admin");
    const card = page.getByRole("table", { name: "Warm pool members" });
    await expect(card.getByText("ready")).toBeVisible({ timeout: 90_000 });
    await expect(card.getByRole("row")).toHaveCount(2); // the header and the one member
    await expect(card.getByRole("row").nth(1)).toContainText("shared");

    // A project asks for a warm machine of its own on its settings page.
    const scope = await createProject(new DashboardApi(page, base, base), "warm");
    await page.goto(`/orgs/${scope.organizationSlug}/projects/${scope.projectSlug}/settings`);
    const field = page.getByLabel("Warm machines to keep");
    await expect(field).toHaveValue("0");
    await field.fill("9");
    await expect(page.getByText("At most 3 on this installation.")).toBeVisible();
    await field.fill("1");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.getByText("Saved. They boot in the background.")).toBeVisible();
    await expect(page.getByText("1 ready, 0 booting")).toBeVisible({ timeout: 90_000 });
    // At the top: a full-page shot of a scrolled page draws the sticky header in the middle.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: `${SCREENSHOT_DIR}project-warm-machines.png`, fullPage: true });

    await page.goto("/admin");
    await expect(card.getByRole("row")).toHaveCount(3);
    await expect(card.getByRole("row").filter({ hasText: "Previews" })).toContainText("ready");
    await card.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SCREENSHOT_DIR}admin-warm-pool.png`, fullPage: true });
  } finally {
    await context.close();
    await server.stop();
  }
});
