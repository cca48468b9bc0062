/**
 * Agents in Debian's Chromium against a real local-docker machine (image `iterate-sandbox:local`): the
 * credential check before Claude Code starts, attaching to a waiting shell agent's tmux session and answering
 * it from the dashboard's terminal (written to docs/screenshots/machine-agent-attached.png), and a finished
 * agent that keeps "exited <code>" and its last lines through a machine stop and start. A shell agent's
 * prompt is typed into an interactive login shell, so it ends only with an `exit`.
 *
 * The tests share one machine (made in beforeAll, deleted in afterAll, Docker checked for leftovers); the
 * restart goes last.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { type Browser, expect, type Locator, type Page, test } from "@playwright/test";

import {
  createProject,
  DashboardApi,
  execOk,
  type OwnedMachine,
  ownedMachine,
  type Scope,
  signIn,
} from "./machine-fixture.ts";

const SCREENSHOT_DIR = fileURLToPath(new URL("../../../docs/screenshots/", import.meta.url));

type MachineRow = { observedState: string; lastError: string | null };

test.describe.configure({ mode: "serial" });

let page: Page;
let api: DashboardApi;
let scope: Scope;
let machine: OwnedMachine;

test.beforeAll(async ({ browser }: { browser: Browser }) => {
  test.setTimeout(120_000);
  const suffix = randomBytes(3).toString("hex");
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await signIn(page, `agents-${suffix}+test@example.com`);
  api = new DashboardApi(page);
  scope = await createProject(api, `agents-${suffix}`);
  machine = await ownedMachine(api, scope, `agents-${suffix}`);
});

test.afterAll(async () => {
  await machine?.remove();
  await page?.context().close();
});

const agentsTab = () =>
  `/orgs/${scope.organizationSlug}/projects/${scope.projectSlug}/machines/${machine.id}?tab=agents`;

/** The agent's row in the list, by its name. */
const agentItem = (name: string): Locator => page.getByRole("listitem", { name: `Agent ${name}` });

async function startShellAgent(name: string, prompt: string) {
  const form = page.locator("form").filter({ has: page.getByRole("button", { name: "Start agent" }) });
  await form.getByLabel("Harness").selectOption("shell");
  await form.getByLabel("Name", { exact: true }).fill(name);
  await form.getByLabel("Prompt").fill(prompt);
  await form.getByRole("button", { name: "Start agent" }).click();
  await expect(agentItem(name)).toBeVisible();
}

async function waitForState(state: string) {
  await expect
    .poll(
      async () => {
        const row = await api.query<MachineRow>("machine.byId", { ...scope, machineId: machine.id });
        return `${row.observedState}${row.lastError ? ` (${row.lastError})` : ""}`;
      },
      { timeout: 60_000, intervals: [200] },
    )
    .toBe(state);
}

/** The text of the agent terminal's rows as xterm.js renders them in the DOM. */
async function terminalRows(item: Locator): Promise<string[]> {
  const rows = await item.getByTestId("agent-terminal").locator(".xterm-rows > div").allInnerTexts();
  return rows.map((row) => row.replace(/\u00a0/g, " ").trim());
}

test("Claude Code without a key shows the missing-credential message before it starts", async () => {
  await page.goto(agentsTab());
  const form = page.locator("form").filter({ has: page.getByRole("button", { name: "Start agent" }) });
  await form.getByLabel("Harness").selectOption("claude-code");
  const alert = form.getByTestId("agent-missing-credential");
  await expect(alert).toContainText("Claude Code needs ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN");
  await expect(alert).toContainText("Env vars");
  await expect(alert.getByRole("link", { name: "Open the project's env vars" })).toHaveAttribute(
    "href",
    `/orgs/${scope.organizationSlug}/projects/${scope.projectSlug}/env-vars`,
  );
  await expect(form.getByRole("button", { name: "Start agent" })).toBeDisabled();
  await expect(page.getByText("No agents yet")).toBeVisible();
  // A shell needs no credential: choosing it clears the message.
  await form.getByLabel("Harness").selectOption("shell");
  await expect(alert).toBeHidden();
  await expect(form.getByRole("button", { name: "Start agent" })).toBeEnabled();
});

test("attaching to an agent and typing a line reaches it", async () => {
  await page.goto(agentsTab());
  await startShellAgent(
    "asker",
    'echo "Which branch?"; read b; echo "got:$b" > /tmp/agent-answer; echo "deploying $b"',
  );
  const item = agentItem("asker");
  // The shell's `read` is blocked on the terminal: the daemon reports the agent waiting for input.
  await expect(item.getByTestId("agent-status")).toHaveAttribute("data-status", "waiting", { timeout: 20_000 });
  await expect(item.getByTestId("agent-status")).toHaveText("waiting for input");
  await item.getByRole("button", { name: "Attach" }).click();
  await expect(item.getByTestId("terminal-status")).toHaveAttribute("data-status", "connected", { timeout: 30_000 });
  await expect.poll(async () => (await terminalRows(item)).includes("Which branch?"), { timeout: 20_000 }).toBe(true);
  await item.getByTestId("agent-terminal").click();
  await page.keyboard.type("release-7");
  await expect.poll(async () => (await terminalRows(item)).some((row) => row === "release-7")).toBe(true);
  // The screenshot starts at the tabs, with the attached agent below them.
  await page.evaluate(() => {
    const tabs = document.querySelector('nav[aria-label="Machine"]');
    if (tabs) window.scrollTo(0, tabs.getBoundingClientRect().top + window.scrollY - 72);
  });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, "machine-agent-attached.png"), animations: "disabled" });
  await page.keyboard.press("Enter");
  await expect
    .poll(async () => (await execOk(machine.containerId, ["cat", "/tmp/agent-answer"])).trim(), { timeout: 15_000 })
    .toBe("got:release-7");
  await expect.poll(async () => (await terminalRows(item)).includes("deploying release-7")).toBe(true);
  // The command is over and the shell is back at its prompt: waiting for the next one, not "running".
  await expect(item.getByTestId("agent-status")).toHaveText("waiting for input", { timeout: 15_000 });
});

test("a finished shell agent shows exited with its code, also after a machine restart", async () => {
  test.setTimeout(180_000);
  await page.goto(agentsTab());
  await startShellAgent("finisher", "echo finished-$((40+2)); exit 3");
  const item = agentItem("finisher");
  await expect(item.getByTestId("agent-status")).toHaveText("exited 3", { timeout: 20_000 });
  // A failure shows its last lines without a click.
  await expect(item.getByTestId("agent-last-lines")).toContainText("finished-42");

  // Stop and start the machine (docker stop, docker start): its tmux server and every session are gone.
  await api.mutation("machine.stop", { ...scope, machineId: machine.id });
  await waitForState("stopped");
  await api.mutation("machine.start", { ...scope, machineId: machine.id });
  await waitForState("running");
  await expect
    .poll(async () => (await execOk(machine.containerId, ["tmux", "ls"]).catch(() => "no server")).trim(), {
      timeout: 5_000,
    })
    .not.toContain("agent-");

  await page.goto(agentsTab());
  await expect(item.getByTestId("agent-status")).toHaveText("exited 3", { timeout: 30_000 });
  await expect(item.getByTestId("agent-last-lines")).toContainText("finished-42");
  // The agent that was still alive went with the machine, before it could record an exit: stopped, saying so.
  const asker = agentItem("asker");
  await expect(asker.getByTestId("agent-status")).toHaveText("stopped");
  await expect(asker).toContainText("Its session ended without an exit status");
});
