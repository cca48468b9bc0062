/**
 * The HTTP API's reference page renders in a real browser from os2 alone (its script is served by os2, not
 * a CDN), listing the documented operations. Also writes the README screenshot.
 */
import { fileURLToPath } from "node:url";

import { expect, test } from "@playwright/test";

import { E2E_API_URL } from "./e2e-server.ts";

const SCREENSHOT = fileURLToPath(new URL("../../../docs/screenshots/api-reference.png", import.meta.url));

test("the API reference at /api/v1/docs renders the OpenAPI document without any request leaving os2", async ({
  page,
}) => {
  const foreign: string[] = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(E2E_API_URL)) foreign.push(request.url());
  });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${E2E_API_URL}/api/v1/docs`);
  await expect(page.getByRole("heading", { name: "os2 API" })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText("Inside a machine").first()).toBeVisible();
  await page.screenshot({ path: SCREENSHOT, animations: "disabled" });
  // Scalar's own optional calls (fonts, telemetry) may try the network; the page must not need them.
  expect(foreign.filter((url) => /standalone|api-reference/.test(url))).toEqual([]);
});
