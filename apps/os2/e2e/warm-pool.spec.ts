/**
 * The admin page's warm pool card on a server with a pool of 1 (the main e2e server runs without one):
 * the member the reconciler's leader boots shows up with its state and age.
 */
import { fileURLToPath } from "node:url";

import { expect, test } from "@playwright/test";

import { E2E_PORT } from "./e2e-server.ts";
import { signIn } from "./machine-fixture.ts";
import { startOs2Process } from "./os2-process.ts";

const SCREENSHOT_DIR = fileURLToPath(new URL("../../../docs/screenshots/", import.meta.url));

test("the admin page lists the warm pool's members with their state and age", async ({ browser }) => {
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
    await card.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SCREENSHOT_DIR}admin-warm-pool.png`, fullPage: true });
  } finally {
    await context.close();
    await server.stop();
  }
});
