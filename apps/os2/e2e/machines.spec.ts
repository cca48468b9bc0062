/**
 * Machines in a real browser against the real server and the real Docker Engine (tcp://127.0.0.1:2375, image
 * `iterate-sandbox:local`): create a local-docker machine from the UI, wait for `running`, type into the
 * browser terminal (xterm.js over the proxy to the daemon's tmux) and read the echo back from the screen,
 * then archive, restore and delete it, and check that Docker holds no container for it afterwards.
 * Writes the README screenshots of the machine page and the machines table.
 *
 * The machine is this test's resource: if the test fails midway, `finally` deletes it through the API and,
 * failing that, removes its container by its `os2.machine-id` label.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { expect, type Page, test } from "@playwright/test";

import { E2E_BASE_URL } from "./e2e-server.ts";

const SCREENSHOT_DIR = fileURLToPath(new URL("../../../docs/screenshots/", import.meta.url));
const DOCKER_API = "http://127.0.0.1:2375";
const TEST_CODE = "424242";
const RUNNING_TIMEOUT = 60_000;

async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), animations: "disabled" });
}

async function signIn(page: Page, email: string) {
  await page.goto("/login");
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByRole("button", { name: "Send code" }).click();
  await page.getByLabel("Code", { exact: true }).fill(TEST_CODE);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/new-organization$/);
}

/** Containers Docker holds for one machine, found by the label os2 puts on every container. */
async function containersOf(machineId: string): Promise<Array<{ Id: string }>> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`os2.machine-id=${machineId}`] }));
  const response = await fetch(`${DOCKER_API}/containers/json?all=1&filters=${filters}`);
  expect(response.ok, `Docker API at ${DOCKER_API}: ${response.status}`).toBe(true);
  return (await response.json()) as Array<{ Id: string }>;
}

/** The text of the terminal's rows as xterm.js renders them in the DOM, one string per row. */
async function terminalRows(page: Page): Promise<string[]> {
  const rows = await page.getByTestId("machine-terminal").locator(".xterm-rows > div").allInnerTexts();
  return rows.map((row) => row.replace(/\u00a0/g, " ").trim());
}

test("a user creates a local-docker machine, types into its browser terminal, then archives, restores and deletes it, leaving no container", async ({
  page,
}) => {
  test.setTimeout(300_000);
  const suffix = randomBytes(3).toString("hex");
  const organization = { name: "Acme Robotics", slug: `acme-machines-${suffix}` };
  const project = { name: "Storefront", slug: "storefront" };
  const machineName = `e2e-otter-${suffix}`;
  let machineId: string | null = null;
  /** Every machine this test made and has not yet seen deleted: `finally` removes what is left. */
  const owned = new Set<string>();

  try {
    await test.step("sign in and create an organization and a project", async () => {
      await signIn(page, `mach-${suffix}+test@example.com`);
      await page.getByLabel("Name", { exact: true }).fill(organization.name);
      await page.getByLabel("Slug (optional)").fill(organization.slug);
      await page.getByRole("button", { name: "Create organization" }).click();
      await expect(page).toHaveURL(new RegExp(`/orgs/${organization.slug}$`));
      await page.getByRole("link", { name: "New project" }).click();
      await page.getByLabel("Project name").fill(project.name);
      await page.getByRole("button", { name: "Create project" }).click();
      await expect(page).toHaveURL(new RegExp(`/orgs/${organization.slug}/projects/${project.slug}$`));
    });

    await test.step("open Machines and create a local-docker machine in the dialog", async () => {
      await page.getByRole("navigation", { name: "Project" }).getByRole("link", { name: "Machines" }).click();
      await expect(page.getByText("No machines yet")).toBeVisible();
      await page.getByRole("button", { name: "New machine" }).click();
      const dialog = page.getByRole("dialog", { name: "New machine" });
      const name = dialog.getByLabel("Name", { exact: true });
      // The name is prefilled with something readable and valid.
      await expect(name).toHaveValue(/^[a-z]+-[a-z]+-\d{2}$/);
      const localDocker = dialog.getByRole("radio", { name: /Local Docker/ });
      await expect(localDocker).toBeEnabled();
      // Every type is listed, available or not.
      await expect(dialog.getByRole("radio", { name: /Daytona/ })).toBeVisible();
      await name.fill(machineName);
      await localDocker.check();
      await dialog.getByRole("button", { name: "Create machine" }).click();
      await expect(dialog).toBeHidden({ timeout: 60_000 });
    });

    const row = page.getByRole("row", { name: new RegExp(machineName) });
    await test.step("the new machine reaches `running` in the table", async () => {
      await expect(row).toBeVisible();
      machineId = await row.getAttribute("data-machine-id");
      expect(machineId).toMatch(/^mach_/);
      if (machineId) owned.add(machineId);
      await expect(row.getByTestId("machine-status")).toHaveAttribute("data-state", "running", {
        timeout: RUNNING_TIMEOUT,
      });
      await expect(row).toContainText("Local Docker");
    });

    await test.step("the project's overview counts it: 1 machine, 1 running (machine.counts)", async () => {
      await page.getByRole("navigation", { name: "Project" }).getByRole("link", { name: "Overview" }).click();
      const machinesCard = page.getByRole("link", { name: "Open machines" }).locator("..");
      await expect(machinesCard.locator("p")).toHaveText(["Machines", "1", "1 running"]);
      await page.getByRole("navigation", { name: "Project" }).getByRole("link", { name: "Machines" }).click();
      await expect(row).toBeVisible();
    });

    await test.step("the machine page's terminal echoes what the user types", async () => {
      await row.getByRole("link", { name: machineName }).click();
      await expect(page.getByRole("heading", { name: machineName })).toBeVisible();
      await expect(page.getByTestId("connect-snippet")).toContainText(`os2 shell ${machineName}`);
      await expect(page.getByTestId("terminal-status")).toHaveAttribute("data-status", "connected", {
        timeout: 30_000,
      });
      // xterm.js renders only while on screen, and the page's cards put the terminal below the fold.
      await page.getByTestId("machine-terminal-box").scrollIntoViewIfNeeded();
      // Wait for the shell's prompt before typing, so the keystrokes are not lost to a starting shell.
      await expect
        .poll(async () => (await terminalRows(page)).some((text) => text.length > 0), { timeout: 30_000 })
        .toBe(true);
      await page.getByTestId("machine-terminal").click();
      await page.keyboard.type("echo hello-os2");
      await page.keyboard.press("Enter");
      // The command line holds `echo hello-os2`; only the shell's output is a row that reads exactly `hello-os2`.
      await expect.poll(async () => (await terminalRows(page)).includes("hello-os2"), { timeout: 20_000 }).toBe(true);
      // Focusing the terminal may have scrolled it into view; the screenshot starts at the page's top.
      await page.evaluate(() => window.scrollTo(0, 0));
      await screenshot(page, "machine-page");
    });

    await test.step("leaving the page and coming back re-attaches to the same tmux session", async () => {
      await page.getByRole("navigation", { name: "Project" }).getByRole("link", { name: "Machines" }).click();
      await row.getByRole("link", { name: machineName }).click();
      await expect(page.getByTestId("terminal-status")).toHaveAttribute("data-status", "connected", {
        timeout: 30_000,
      });
      // xterm.js renders only while on screen, and the page's cards put the terminal below the fold.
      await page.getByTestId("machine-terminal-box").scrollIntoViewIfNeeded();
      // A fresh socket and a fresh xterm: the earlier output can only come from tmux redrawing the old session.
      await expect.poll(async () => (await terminalRows(page)).includes("hello-os2"), { timeout: 20_000 }).toBe(true);
    });

    const secondRow = page.locator("tbody tr").filter({ hasNot: page.getByRole("link", { name: machineName }) });
    await test.step("back to the table; a second machine, with its default name, is stopped from the row menu", async () => {
      await page.getByRole("navigation", { name: "Project" }).getByRole("link", { name: "Machines" }).click();
      await expect(row.getByTestId("machine-status")).toHaveAttribute("data-state", "running");
      await page.getByRole("button", { name: "New machine" }).click();
      const dialog = page.getByRole("dialog", { name: "New machine" });
      const defaultName = await dialog.getByLabel("Name", { exact: true }).inputValue();
      await dialog.getByRole("button", { name: "Create machine" }).click();
      await expect(dialog).toBeHidden({ timeout: 60_000 });
      await expect(secondRow).toContainText(defaultName);
      const secondId = await secondRow.getAttribute("data-machine-id");
      if (secondId) owned.add(secondId);
      await expect(secondRow.getByTestId("machine-status")).toHaveAttribute("data-state", "running", {
        timeout: RUNNING_TIMEOUT,
      });
      await secondRow.getByRole("button", { name: `Actions for ${defaultName}` }).click();
      await expect(page.getByRole("menuitem")).toHaveText(["Stop", "Restart", "Archive", "Delete…"]);
      await page.getByRole("menuitem", { name: "Stop" }).click();
      await expect(secondRow.getByTestId("machine-status")).toHaveAttribute("data-state", "stopped", {
        timeout: 60_000,
      });
      await screenshot(page, "machines-table");
    });

    await test.step("archive hides it; Show archived lists it as archived", async () => {
      await row.getByRole("button", { name: `Actions for ${machineName}` }).click();
      await page.getByRole("menuitem", { name: "Archive" }).click();
      // It is running: archiving asks first.
      await page
        .getByRole("dialog", { name: `Archive ${machineName}?` })
        .getByRole("button", { name: "Archive machine" })
        .click();
      await expect(row).toBeHidden({ timeout: 60_000 });
      await page.getByRole("checkbox", { name: "Show archived" }).check();
      await expect(row.getByTestId("machine-status")).toHaveAttribute("data-state", "archived", { timeout: 30_000 });
    });

    await test.step("restore brings it back to running", async () => {
      await row.getByRole("button", { name: `Actions for ${machineName}` }).click();
      await page.getByRole("menuitem", { name: "Restore" }).click();
      await expect(row.getByTestId("machine-status")).toHaveAttribute("data-state", "running", {
        timeout: RUNNING_TIMEOUT,
      });
    });

    await test.step("delete, after confirming, removes the row and the container", async () => {
      await row.getByRole("button", { name: `Actions for ${machineName}` }).click();
      await page.getByRole("menuitem", { name: "Delete…" }).click();
      const confirm = page.getByRole("dialog", { name: `Delete ${machineName}?` });
      await confirm.getByRole("button", { name: "Delete machine" }).click();
      await expect(confirm).toBeHidden({ timeout: 60_000 });
      await expect(row).toBeHidden({ timeout: 30_000 });
      const id = machineId;
      if (!id) throw new Error("the machine id was not recorded");
      await expect.poll(async () => (await containersOf(id)).length, { timeout: 30_000 }).toBe(0);
      owned.delete(id);
      await page.reload();
      await expect(page.getByText(machineName)).toBeHidden();
    });

    await test.step("the stopped machine is deleted too; the table is empty again", async () => {
      const secondId = await secondRow.getAttribute("data-machine-id");
      await secondRow.getByRole("button", { name: /^Actions for / }).click();
      await expect(page.getByRole("menuitem")).toHaveText(["Start", "Archive", "Delete…"]);
      await page.getByRole("menuitem", { name: "Delete…" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Delete machine" }).click();
      await expect(page.getByText("No machines yet")).toBeVisible({ timeout: 60_000 });
      if (secondId) {
        await expect.poll(async () => (await containersOf(secondId)).length, { timeout: 30_000 }).toBe(0);
        owned.delete(secondId);
      }
    });
  } finally {
    for (const id of owned) await removeMachine(page, organization.slug, project.slug, id);
  }
});

/** Cleanup after a failure: delete through the API as the signed-in user, then make sure Docker agrees. */
async function removeMachine(page: Page, organizationSlug: string, projectSlug: string, machineId: string) {
  console.warn(`cleaning up machine ${machineId} after a failure`);
  await page.request
    .post("/api/trpc/machine.delete", {
      data: { json: { organizationSlug, projectSlug, machineId } },
      // A cookie-carrying mutation must come from the dashboard's origin, as a browser's would.
      headers: { origin: E2E_BASE_URL },
      timeout: 60_000,
    })
    .catch((error: unknown) => console.warn(`machine.delete failed: ${String(error)}`));
  for (const container of await containersOf(machineId).catch(() => [])) {
    await fetch(`${DOCKER_API}/containers/${container.Id}?force=true&v=true`, { method: "DELETE" }).catch(
      () => undefined,
    );
  }
}
