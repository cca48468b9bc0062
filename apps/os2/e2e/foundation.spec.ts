/**
 * The foundation's user journey in a real browser against the real server: sign in with the `+test` code,
 * create an organization and projects, set an env var that stays masked, mint a project access token and
 * use it (and see it refused for another project), then sign out. Also writes the README screenshots.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { expect, type Page, test } from "@playwright/test";

import { E2E_API_URL } from "./e2e-server.ts";

const SCREENSHOT_DIR = fileURLToPath(new URL("../../../docs/screenshots/", import.meta.url));
const EMAIL = "ada+test@example.com";
const TEST_CODE = "424242";
const ORGANIZATION = { name: "Acme Robotics", slug: "acme-robotics" };
const PROJECT = { name: "Website", slug: "website" };
const OTHER_PROJECT = { name: "Billing", slug: "billing" };

async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), animations: "disabled" });
}

function envVarListUrl(organizationSlug: string, projectSlug: string): string {
  const input = encodeURIComponent(JSON.stringify({ json: { organizationSlug, projectSlug } }));
  return `${E2E_API_URL}/api/trpc/envVar.list?input=${input}`;
}

test("a new user signs in, creates an organization and a project, keeps env values masked, uses a project-scoped token, and signs out", async ({
  page,
}) => {
  const secretValue = `sk_live_${randomBytes(12).toString("hex")}`;
  let token = "";

  await test.step("sign in with the +test code", async () => {
    await page.goto("/");
    await expect(page).toHaveURL(/\/login/);
    await page.getByLabel("Email", { exact: true }).fill(EMAIL);
    await screenshot(page, "login");
    await page.getByRole("button", { name: "Send code" }).click();
    await page.getByLabel("Code", { exact: true }).fill(TEST_CODE);
    await page.getByRole("button", { name: "Sign in" }).click();
    // A brand-new user has no organization yet.
    await expect(page).toHaveURL(/\/new-organization$/);
  });

  await test.step("create an organization and two projects", async () => {
    await page.getByLabel("Name", { exact: true }).fill(ORGANIZATION.name);
    await page.getByRole("button", { name: "Create organization" }).click();
    await expect(page).toHaveURL(new RegExp(`/orgs/${ORGANIZATION.slug}$`));
    await expect(page.getByRole("heading", { name: ORGANIZATION.name })).toBeVisible();

    for (const project of [OTHER_PROJECT, PROJECT]) {
      await page.goto(`/orgs/${ORGANIZATION.slug}`);
      await page.getByRole("link", { name: "New project" }).click();
      await page.getByLabel("Project name").fill(project.name);
      await page.getByRole("button", { name: "Create project" }).click();
      await expect(page).toHaveURL(new RegExp(`/orgs/${ORGANIZATION.slug}/projects/${project.slug}$`));
      await expect(page.getByRole("heading", { name: project.name })).toBeVisible();
    }

    await page.getByRole("link", { name: `← ${ORGANIZATION.name}` }).click();
    await expect(page.getByRole("link", { name: new RegExp(PROJECT.name) })).toBeVisible();
    await expect(page.getByRole("link", { name: new RegExp(OTHER_PROJECT.name) })).toBeVisible();
    await screenshot(page, "organization-dashboard");
  });

  await test.step("set an env var and see it only masked", async () => {
    await page.getByRole("link", { name: new RegExp(PROJECT.name) }).click();
    await page.getByRole("link", { name: "Env vars" }).click();
    await expect(page.getByText("Changes apply to machines at their next start.")).toBeVisible();
    await page.getByLabel("Key", { exact: true }).fill("STRIPE_SECRET_KEY");
    await page.getByLabel("Value", { exact: true }).fill(secretValue);
    await page.getByRole("button", { name: "Save variable" }).click();

    const row = page.getByRole("row", { name: /STRIPE_SECRET_KEY/ });
    await expect(row).toBeVisible();
    await expect(row).toContainText("••••");
    await expect(page.getByLabel("Value", { exact: true })).toHaveValue("");
    // Neither the rendered text nor any attribute or input value holds the secret.
    await expect(page.locator("body")).not.toContainText(secretValue);
    expect(await page.content()).not.toContain(secretValue);
    await screenshot(page, "project-env-vars");
  });

  await test.step("create an access token and read it from the UI", async () => {
    await page.getByRole("link", { name: "Access tokens" }).click();
    await page.getByLabel("Token name").fill("CI deploys");
    await page.getByRole("button", { name: "Create token" }).click();
    const dialog = page.getByRole("dialog", { name: /Token "CI deploys" created/ });
    await expect(dialog).toBeVisible();
    token = await dialog.getByLabel("Access token").inputValue();
    expect(token).toMatch(/^pat_/);
    await screenshot(page, "access-token-created");
    await dialog.getByRole("button", { name: "I have copied it" }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByRole("row", { name: /CI deploys/ })).toContainText("active");
  });

  await test.step("the token reads its own project's env vars and is NOT_FOUND for another project", async () => {
    const own = await fetch(envVarListUrl(ORGANIZATION.slug, PROJECT.slug), {
      headers: { authorization: `Bearer ${token}` },
    });
    const ownBody = await own.text();
    expect(own.status, ownBody).toBe(200);
    expect(ownBody).toContain("STRIPE_SECRET_KEY");
    expect(ownBody).not.toContain(secretValue);

    const other = await fetch(envVarListUrl(ORGANIZATION.slug, OTHER_PROJECT.slug), {
      headers: { authorization: `Bearer ${token}` },
    });
    const otherBody = await other.text();
    expect(other.status, otherBody).toBe(404);
    expect(otherBody).toContain("NOT_FOUND");
  });

  await test.step("the project page is readable on a phone", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`/orgs/${ORGANIZATION.slug}/projects/${PROJECT.slug}`);
    await expect(page.getByRole("heading", { name: PROJECT.name })).toBeVisible();
    await expect(page.getByRole("navigation", { name: "Project" })).toBeVisible();
    await expect(
      page.getByRole("button", { name: `Organization: ${ORGANIZATION.name}. Switch organization` }),
    ).toBeVisible();
    await expect(page.getByText("Environment variables", { exact: true }).locator("..")).toContainText("1");
    await screenshot(page, "project-phone");
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await test.step("sign out; the dashboard then redirects to /login", async () => {
    await page.getByRole("button", { name: "Account menu" }).click();
    await page.getByRole("menuitem", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login/);
    await page.goto(`/orgs/${ORGANIZATION.slug}`);
    await expect(page).toHaveURL(/\/login\?redirect=/);
    await expect(page.getByRole("heading", { name: "Sign in to os2" })).toBeVisible();
  });
});

test("a change made in one tab appears in another open tab without a reload (realtime invalidation)", async ({
  context,
}) => {
  const editor = await context.newPage();
  await editor.goto("/login");
  await editor.getByLabel("Email", { exact: true }).fill("grace+test@example.com");
  await editor.getByRole("button", { name: "Send code" }).click();
  await editor.getByLabel("Code", { exact: true }).fill(TEST_CODE);
  await editor.getByRole("button", { name: "Sign in" }).click();
  await expect(editor).toHaveURL(/\/new-organization$/);
  await editor.getByLabel("Name", { exact: true }).fill("Grace Labs");
  await editor.getByRole("button", { name: "Create organization" }).click();
  await editor.getByRole("link", { name: "New project" }).click();
  await editor.getByLabel("Project name").fill("Compiler");
  await editor.getByRole("button", { name: "Create project" }).click();
  await expect(editor).toHaveURL(/\/orgs\/grace-labs\/projects\/compiler$/);

  // The watcher's list is loaded and fresh for 30 s, so only a pushed invalidation can make it refetch.
  const watcher = await context.newPage();
  const socket = watcher.waitForEvent("websocket", (ws) => ws.url().endsWith("/api/ws/realtime"));
  await watcher.goto("/orgs/grace-labs/projects/compiler/env-vars");
  await socket;
  await expect(watcher.getByText("No variables yet")).toBeVisible();

  await editor.getByRole("link", { name: "Env vars" }).click();
  await editor.getByLabel("Key", { exact: true }).fill("LIVE_UPDATE");
  await editor.getByLabel("Value", { exact: true }).fill("on");
  await editor.getByRole("button", { name: "Save variable" }).click();

  await expect(watcher.getByRole("row", { name: /LIVE_UPDATE/ })).toBeVisible({ timeout: 5_000 });
});
