/**
 * The rough edges a new user found in the dashboard, one test per behaviour, against the real server, real
 * local-docker machines and Chromium: what deleting a project or organization destroys, admin addresses at
 * every sign-in, the Connect panel instead of a dead URL, tab rows that do not overflow, unique machine
 * names, reserved env keys, the shown-once token, archive asking first, honest empty states, and an env
 * change that says "restart to apply" until the machine restarts.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { expect, type Page, test } from "@playwright/test";

import { E2E_API_URL, E2E_BASE_URL, E2E_PORT } from "./e2e-server.ts";
import {
  containersOf,
  createProject,
  DashboardApi,
  execOk,
  ownedMachine,
  type Scope,
  signIn,
} from "./machine-fixture.ts";
import { startOs2Process } from "./os2-process.ts";

const run = promisify(execFile);
const SCREENSHOT_DIR = fileURLToPath(new URL("../../../docs/screenshots/", import.meta.url));

async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), animations: "disabled" });
}

function unique() {
  return randomBytes(4).toString("hex");
}

async function member(page: Page): Promise<{ api: DashboardApi; scope: Scope; suffix: string }> {
  const suffix = unique();
  await signIn(page, `rough-${suffix}+test@example.com`);
  const api = new DashboardApi(page);
  return { api, scope: await createProject(api, suffix), suffix };
}

const projectPath = (scope: Scope) => `/orgs/${scope.organizationSlug}/projects/${scope.projectSlug}`;

test("deleting a project lists the machines it destroys, by name and state, and needs the project's name typed", async ({
  page,
}) => {
  const { api, scope } = await member(page);
  const machine = await ownedMachine(api, scope, "doomed-one");
  try {
    await page.goto(`${projectPath(scope)}/settings`);
    await page.getByRole("button", { name: "Delete project" }).click();
    const dialog = page.getByRole("dialog", { name: /^Delete Previews\?/ });
    const listed = dialog.getByTestId("doomed-machines");
    await expect(listed).toContainText("doomed-one");
    await expect(listed.getByTestId("machine-status")).toHaveAttribute("data-state", "running");
    await expect(listed).toContainText("1 running now stops at once");
    const confirm = dialog.getByRole("button", { name: "Delete project" });
    await expect(confirm).toBeDisabled();
    await dialog.getByTestId("type-to-confirm").fill("Preview");
    await expect(confirm).toBeDisabled();
    await screenshot(page, "project-delete-dialog");
    await dialog.getByTestId("type-to-confirm").fill("Previews");
    await confirm.click();
    await expect(page).toHaveURL(new RegExp(`/orgs/${scope.organizationSlug}$`));
    await expect.poll(async () => (await containersOf(machine.id)).length, { timeout: 30_000 }).toBe(0);
  } finally {
    await machine.remove();
  }
});

test("deleting an organization lists every project's machines and needs the organization's name typed", async ({
  page,
}) => {
  const { api, scope } = await member(page);
  const machine = await ownedMachine(api, scope, "org-doomed");
  try {
    await page.goto(`/orgs/${scope.organizationSlug}/settings`);
    await page.getByRole("button", { name: "Delete organization" }).click();
    const dialog = page.getByRole("dialog", { name: /^Delete Preview Labs\?/ });
    await expect(dialog.getByTestId("doomed-machines")).toContainText("Previews / org-doomed");
    await expect(dialog.getByRole("button", { name: "Delete organization" })).toBeDisabled();
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(dialog).toBeHidden();
  } finally {
    await machine.remove();
  }
});

test("an account that already exists becomes a system admin at its next sign-in once OS2_ADMIN_EMAILS lists it", async ({
  browser,
}) => {
  const port = E2E_PORT + 2;
  const base = `http://localhost:${port}`;
  const dataDir = `.tmp/e2e-admin-emails-${port}`;
  const email = `later-admin-${unique()}+test@example.com`;
  const options = { port, stage: "e2e-admin-emails", dataDir, publicUrl: base };
  let server = await startOs2Process({ ...options, fresh: true });
  const context = await browser.newContext({ baseURL: base });
  try {
    const page = await context.newPage();
    await signIn(page, email);
    await page.goto("/admin");
    await expect(page.getByText("System administrators only")).toBeVisible();

    await server.stop({ keepData: true });
    server = await startOs2Process({ ...options, fresh: false, env: { OS2_ADMIN_EMAILS: email } });
    await context.clearCookies();
    await page.goto("/login");
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByRole("button", { name: "Send code" }).click();
    await page.getByLabel("Code", { exact: true }).fill("424242");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).not.toHaveURL(/\/login/);
    await page.goto("/admin");
    await expect(page.getByRole("heading", { name: "Administration" })).toBeVisible();
    await expect(page.getByText("System administrators only")).toBeHidden();
  } finally {
    await context.close();
    await server.stop();
  }
});

test("the machine page's Connect panel gives CLI, SDK and curl for this machine, and its curl works as shown", async ({
  page,
}) => {
  const { api, scope } = await member(page);
  const machine = await ownedMachine(api, scope, "connect-me");
  try {
    const { token } = await api.mutation<{ token: string }>("accessToken.create", { ...scope, name: "connect" });
    await page.goto(`${projectPath(scope)}/machines/${machine.id}`);
    const snippet = page.getByTestId("connect-snippet");
    await expect(snippet).toContainText("pnpm os2 shell connect-me");
    await expect(snippet).toContainText("pnpm os2 exec connect-me -- uname -a");
    await page.getByRole("tab", { name: "TypeScript SDK" }).click();
    await expect(snippet).toContainText(`os2.machines.get("connect-me")`);
    await page.getByRole("tab", { name: "HTTP API" }).click();
    const curl = (await snippet.innerText()).trim();
    expect(curl).toContain(`${E2E_BASE_URL}/api/v1/machines/connect-me/exec`);
    // The dead link to the daemon's published port and the raw health JSON are gone.
    await expect(page.locator('a[href^="http://localhost:"][href$="/api/health"]')).toHaveCount(0);
    await expect(page.getByRole("link", { name: "Open daemon" })).toHaveCount(0);

    // Run the snippet exactly as shown (against 127.0.0.1, which the server binds), with the token in OS2_TOKEN.
    const { stdout } = await run("sh", ["-c", curl.replaceAll(E2E_BASE_URL, E2E_API_URL)], {
      env: { ...process.env, OS2_TOKEN: token },
    });
    const result = JSON.parse(stdout) as { exitCode: number; stdout: string };
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("Linux");
  } finally {
    await machine.remove();
  }
});

test("tab rows never overflow vertically, so no stray scrollbar appears", async ({ page }) => {
  const { api, scope } = await member(page);
  const machine = await ownedMachine(api, scope, "tabs-fit");
  try {
    for (const path of [`${projectPath(scope)}/machines/${machine.id}`, `/orgs/${scope.organizationSlug}/settings`]) {
      await page.goto(path);
      const rows = page.getByTestId("tab-row");
      await expect(rows.first()).toBeVisible();
      for (const row of await rows.all()) {
        const { scrollHeight, clientHeight } = await row.evaluate((element) => ({
          scrollHeight: element.scrollHeight,
          clientHeight: element.clientHeight,
        }));
        expect(scrollHeight, `tab row on ${path}`).toBeLessThanOrEqual(clientHeight);
      }
    }
  } finally {
    await machine.remove();
  }
});

test("a second machine with a name the project already has is refused with a message naming it", async ({ page }) => {
  const { api, scope } = await member(page);
  const machine = await ownedMachine(api, scope, "same-name");
  try {
    await page.goto(`${projectPath(scope)}/machines`);
    await page.getByRole("button", { name: "New machine" }).click();
    const dialog = page.getByRole("dialog", { name: "New machine" });
    await dialog.getByLabel("Name", { exact: true }).fill("same-name");
    await dialog.getByRole("radio", { name: /Local Docker/ }).check();
    await dialog.getByRole("button", { name: "Create machine" }).click();
    await expect(dialog.getByRole("alert")).toContainText("A machine named same-name already exists in this project");
    await expect(dialog).toBeVisible();
    const listed = await api.query<{ machines: { name: string }[] }>("machine.list", {
      ...scope,
      includeArchived: true,
      limit: 200,
    });
    expect(listed.machines.filter((row) => row.name === "same-name")).toHaveLength(1);
  } finally {
    await machine.remove();
  }
});

test("a reserved key (OS2_MACHINE_ID) is refused as a project env var with a message naming it, and no row appears", async ({
  page,
}) => {
  const { scope } = await member(page);
  await page.goto(`${projectPath(scope)}/env-vars`);
  await page.getByLabel("Key").fill("OS2_MACHINE_ID");
  await page.getByLabel("Value").fill("mine");
  await page.getByRole("button", { name: "Save variable" }).click();
  await expect(page.getByRole("alert")).toContainText("OS2_MACHINE_ID");
  await expect(page.getByText("No variables yet")).toBeVisible();
});

test("Escape and a click outside leave the shown-once access token on screen; only 'I have copied it' closes it", async ({
  page,
}) => {
  const { scope } = await member(page);
  await page.goto(`${projectPath(scope)}/access-tokens`);
  await page.getByLabel("Token name").fill("kept");
  await page.getByRole("button", { name: "Create token" }).click();
  const dialog = page.getByRole("dialog", { name: /Token "kept" created/ });
  await expect(dialog).toBeVisible();
  const token = await dialog.getByLabel("Access token").inputValue();
  await page.keyboard.press("Escape");
  await page.mouse.click(5, 5);
  await expect(dialog).toBeVisible();
  await expect(dialog.getByLabel("Access token")).toHaveValue(token);
  await dialog.getByRole("button", { name: "I have copied it" }).click();
  await expect(dialog).toBeHidden();
});

test("archiving a running machine asks first: Cancel leaves it running, confirming archives it", async ({ page }) => {
  const { api, scope } = await member(page);
  const machine = await ownedMachine(api, scope, "ask-first");
  try {
    await page.goto(`${projectPath(scope)}/machines/${machine.id}`);
    await page.getByRole("button", { name: "Archive", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Archive ask-first?" });
    await expect(dialog).toContainText("terminals, agents and processes end");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(dialog).toBeHidden();
    expect(
      (await api.query<{ observedState: string }>("machine.byId", { ...scope, machineId: machine.id })).observedState,
    ).toBe("running");
    await page.getByRole("button", { name: "Archive", exact: true }).click();
    await dialog.getByRole("button", { name: "Archive machine" }).click();
    await expect(page.getByTestId("machine-status").first()).toHaveAttribute("data-state", "archived", {
      timeout: 30_000,
    });
  } finally {
    await machine.remove();
  }
});

test("with only archived machines the list says so and offers to show them; an archived machine's agents say Restore", async ({
  page,
}) => {
  const { api, scope } = await member(page);
  const machine = await ownedMachine(api, scope, "put-away");
  try {
    await api.mutation("machine.archive", { ...scope, machineId: machine.id });
    await page.goto(`${projectPath(scope)}/machines`);
    await expect(page.getByText("No active machines; 1 archived")).toBeVisible();
    await expect(page.getByText("No machines yet")).toHaveCount(0);
    await page.getByRole("button", { name: "Show archived" }).click();
    await expect(page.getByRole("row", { name: /put-away/ })).toBeVisible();

    await page.goto(`${projectPath(scope)}/machines/${machine.id}?tab=agents`);
    await expect(page.getByText("Restore it to manage its agents.")).toBeVisible();
    await expect(page.getByRole("button", { name: "Restore" })).toBeVisible();
    await expect(page.getByText(/Start it to/)).toHaveCount(0);
  } finally {
    await machine.remove();
  }
});

test("a fresh project's empty machine list has its own button that opens the create dialog", async ({ page }) => {
  const { scope } = await member(page);
  await page.goto(`${projectPath(scope)}/machines`);
  await expect(page.getByText("No machines yet")).toBeVisible();
  await page.getByRole("button", { name: "Create your first machine" }).click();
  await expect(page.getByRole("dialog", { name: "New machine" })).toBeVisible();
});

test("after an env change the running machine shows 'restart to apply' until it restarts, then runs with the new value", async ({
  page,
}) => {
  const { api, scope } = await member(page);
  const machine = await ownedMachine(api, scope, "env-late");
  try {
    await page.goto(`${projectPath(scope)}/machines/${machine.id}?tab=env`);
    // os2's own non-secret values are shown, read-only; nothing asks for a restart yet.
    await expect(page.getByTestId("env-value-OS2_MACHINE_ID")).toHaveText(machine.id);
    await expect(page.getByTestId("restart-to-apply")).toHaveCount(0);

    const form = page.locator("form", { has: page.getByRole("button", { name: "Save override" }) });
    await form.getByLabel("Key").fill("LATE_FLAG");
    await form.getByLabel("Value").fill("on");
    await form.getByRole("button", { name: "Save override" }).click();
    // A save clears the form when it lands: wait for it before typing the next key.
    await expect(page.getByText("Saved the override of LATE_FLAG.")).toBeVisible();
    await form.getByLabel("Key").fill("BLANK_ONE");
    await form.getByRole("button", { name: "Save override" }).click();

    await expect(page.getByTestId("env-row-LATE_FLAG")).toContainText("override");
    await expect(page.getByTestId("env-value-BLANK_ONE")).toHaveText("empty");
    const banner = page.getByTestId("restart-to-apply");
    await expect(banner).toBeVisible();
    // The tabs at the top of the screenshot, then the callout, the override form and the table.
    await page
      .getByRole("navigation", { name: "Machine" })
      .evaluate((nav) => window.scrollBy(0, nav.getBoundingClientRect().top - 64));
    await screenshot(page, "machine-env-restart-to-apply");
    await page.goto(`${projectPath(scope)}/machines`);
    await expect(page.getByRole("row", { name: /env-late/ }).getByTestId("restart-to-apply-badge")).toBeVisible();

    await page.goto(`${projectPath(scope)}/machines/${machine.id}?tab=env`);
    type Row = { observedState: string; envAppliedAt: string | null };
    const row = () => api.query<Row>("machine.byId", { ...scope, machineId: machine.id });
    const appliedBefore = (await row()).envAppliedAt;
    await banner.getByRole("button", { name: "Restart now" }).click();
    // Running again, with the environment handed over by this start.
    await expect
      .poll(
        async () => {
          const current = await row();
          return current.observedState === "running" && current.envAppliedAt !== appliedBefore;
        },
        { timeout: 60_000 },
      )
      .toBe(true);
    await expect(banner).toHaveCount(0, { timeout: 15_000 });
    const [container] = await containersOf(machine.id);
    // The daemon's children (exec, terminals, agents) get the new environment; `docker exec` would not.
    const shown = await execOk(container!.Id, [
      "sh",
      "-c",
      'curl -s -H "Authorization: Bearer $MACHINE_AUTH_TOKEN" -H "content-type: application/json" -d \'{"command":"printenv","args":["LATE_FLAG"]}\' http://127.0.0.1:3000/api/exec',
    ]);
    expect((JSON.parse(shown) as { stdout: string }).stdout).toBe("on\n");

    // Removing the override asks for a restart again.
    await page.getByRole("button", { name: "Remove override LATE_FLAG" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Remove override" }).click();
    await expect(page.getByTestId("env-row-LATE_FLAG")).toHaveCount(0);
    await expect(banner).toBeVisible();
  } finally {
    await machine.remove();
  }
});
