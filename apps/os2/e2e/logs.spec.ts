/**
 * Live logs in a real browser against the real server and a real local-docker machine: a line written
 * inside the machine (to PID 1's stdout for the container log; to the daemon's stdout, which s6-log writes
 * to `current`, for the service log) shows up in the followed view within 2 s; search filters and
 * highlights; Download saves the lines; a larger tail loads on demand. Writes the README screenshot
 * docs/screenshots/machine-logs-follow.png.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
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

test.describe.configure({ mode: "serial" });

let page: Page;
let api: DashboardApi;
let scope: Scope;
let machine: OwnedMachine;
const suffix = randomBytes(3).toString("hex");

test.beforeAll(async ({ browser }: { browser: Browser }) => {
  test.setTimeout(120_000);
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true })).newPage();
  await signIn(page, `logs-${suffix}+test@example.com`);
  api = new DashboardApi(page);
  scope = await createProject(api, `logs-${suffix}`);
  machine = await ownedMachine(api, scope, `logs-${suffix}`);
});

test.afterAll(async () => {
  await machine?.remove();
  await page?.context().close();
});

const logsTab = () => `/orgs/${scope.organizationSlug}/projects/${scope.projectSlug}/machines/${machine.id}?tab=logs`;

/** A log card by its heading. */
const card = (title: string): Locator =>
  page.locator("section").filter({ has: page.getByRole("heading", { name: title, exact: true }) });

/** Writes lines to the container's own stdout, as its main process would. */
async function writeContainerLines(lines: string[]) {
  await execOk(machine.containerId, ["sh", "-c", 'printf "%s\\n" "$@" > /proc/1/fd/1', "sh", ...lines]);
}

/**
 * Writes lines to the daemon's stdout: the pipe s6-log reads, so they land in the iterate-server log's
 * `current` file as s6-log writes it (with its timestamp), the way the daemon's own output does.
 */
async function writeServiceLines(lines: string[]) {
  const script = [
    "for p in /proc/[0-9]*; do",
    // Exactly the daemon's command line (this script's own mentions the file name too).
    '  if [ "$(tr "\\0" " " < "$p/cmdline" 2>/dev/null)" = "node /opt/os2/daemon/daemon.mjs " ]; then pid=${p#/proc/}; fi',
    "done",
    '[ -n "$pid" ] || { echo "no daemon process" >&2; exit 1; }',
    'printf "%s\\n" "$@" > "/proc/$pid/fd/1"',
  ].join("\n");
  await execOk(machine.containerId, ["sh", "-c", script, "sh", ...lines]);
}

async function openLogs() {
  await page.goto(logsTab());
  await expect(card("Container logs").getByText("Following: new lines appear")).toBeVisible({ timeout: 20_000 });
  await expect(card("Service logs").getByText("Following iterate-server")).toBeVisible({ timeout: 20_000 });
}

test("a line written inside the machine appears in the followed container log view within 2 s", async () => {
  await openLogs();
  const view = card("Container logs").getByLabel("Container logs", { exact: true });
  const line = `container-follow-${suffix}-${Date.now()}`;
  await writeContainerLines([line]);
  const written = Date.now();
  await expect(view).toContainText(line, { timeout: 2_000 });
  console.log(`container log: line visible ${Date.now() - written} ms after the write returned`);
});

test("a line written inside the machine appears in the followed service log view within 2 s", async () => {
  await openLogs();
  const view = card("Service logs").getByLabel("Log of iterate-server", { exact: true });
  const line = `service-follow-${suffix}-${Date.now()}`;
  await writeServiceLines([line]);
  const written = Date.now();
  await expect(view).toContainText(line, { timeout: 2_000 });
  console.log(`service log: line visible ${Date.now() - written} ms after the write returned`);
});

test("search filters the log to matching lines and highlights the match; Download saves what is shown", async () => {
  await openLogs();
  const logs = card("Container logs");
  const view = logs.getByLabel("Container logs", { exact: true });
  const tag = `srch${suffix}`;
  await writeContainerLines([`${tag} alpha one`, `${tag} beta two`, `${tag} alpha three`]);
  await expect(view).toContainText(`${tag} alpha three`);

  await logs.getByLabel("Search container logs").fill(`${tag} ALPHA`);
  await expect(logs.getByText(/^2 of \d+ lines match$/)).toBeVisible();
  await expect(view).toContainText(`${tag} alpha one`);
  await expect(view).not.toContainText(`${tag} beta two`);
  await expect(view.locator("mark")).toHaveText([`${tag} alpha`, `${tag} alpha`]);

  const matches = page.waitForEvent("download");
  await logs.getByRole("button", { name: "Download matches" }).click();
  const saved = await matches;
  expect(saved.suggestedFilename()).toBe(`${machine.id}-container.txt`);
  expect(await readFile(await saved.path(), "utf8")).toBe(`${tag} alpha one\n${tag} alpha three\n`);

  // Escape clears the search; Download then saves every line shown.
  await logs.getByLabel("Search container logs").press("Escape");
  await expect(view).toContainText(`${tag} beta two`);
  const all = page.waitForEvent("download");
  await logs.getByRole("button", { name: "Download", exact: true }).click();
  const text = await readFile(await (await all).path(), "utf8");
  expect(text).toContain(`${tag} alpha one\n${tag} beta two\n${tag} alpha three\n`);
});

test("a larger tail loads on demand, in the followed view and when paused", async () => {
  const tag = `tail${suffix}`;
  const many = Array.from({ length: 600 }, (_, index) => `${tag} line ${index + 1}`);
  await writeContainerLines(many);
  await writeServiceLines(many);
  await openLogs();
  const logs = card("Container logs");
  const view = logs.getByLabel("Container logs", { exact: true });
  // The last 300 lines: the first of the 600 is not among them.
  await expect(view).toContainText(`${tag} line 600`);
  await expect(view).not.toContainText(`${tag} line 1\n`);
  await logs.getByLabel("Lines of container logs to load").selectOption("1000");
  await expect(view).toContainText(`${tag} line 1\n`);
  await expect(logs.getByText(/^\d+ lines$/)).toHaveText(/^(\d{4}|[6-9]\d\d) lines$/);

  // Paused (Follow off), the service log reads a larger tail once, with Refresh.
  const service = card("Service logs");
  const serviceView = service.getByLabel("Log of iterate-server", { exact: true });
  await expect(serviceView).toContainText(`${tag} line 600`);
  await expect(serviceView).not.toContainText(`${tag} line 1\n`);
  await service.getByRole("switch", { name: "Follow service log" }).uncheck();
  await expect(service.getByText(/^Paused/)).toBeVisible();
  await service.getByLabel("Lines of service log to load").selectOption("1000");
  await expect(serviceView).toContainText(`${tag} line 1\n`);
});

test("the followed log keeps its place while the reader scrolls up, and Jump to latest follows again", async () => {
  await openLogs();
  const logs = card("Container logs");
  const view = logs.getByLabel("Container logs", { exact: true });
  // Ordinary service output (unique per run where the test looks for it).
  const clock = (second: number) => `12:04:${String(second % 60).padStart(2, "0")}`;
  const filler = Array.from({ length: 40 }, (_, index) =>
    index % 3 === 0
      ? `${clock(index)} [worker] heartbeat ok, queue depth ${index % 7}`
      : `${clock(index)} [web] GET /api/health 200 ${2 + (index % 4)}ms`,
  );
  const lines = [
    `12:04:41 [web] GET /orders 200 41ms`,
    `12:04:42 [worker] job ${suffix} picked up: resize-images`,
    `12:04:43 [worker] job ${suffix} done in 812ms`,
    `12:04:44 [web] POST /orders 201 67ms`,
  ];
  // Enough lines to scroll, whichever tests ran before.
  await writeContainerLines([...filler, ...lines]);
  await expect(view).toContainText(lines[3] ?? "");
  await view.evaluate((element) => (element.scrollTop = 0));
  await expect(logs.getByRole("button", { name: "Jump to latest ↓" })).toBeVisible();
  const scrolledTo = await view.evaluate((element) => element.scrollTop);
  const whileUp = `12:04:45 [web] GET /orders/${suffix} 200 12ms`;
  await writeContainerLines([whileUp]);
  await expect(view).toContainText(whileUp);
  expect(await view.evaluate((element) => element.scrollTop)).toBe(scrolledTo);
  await logs.getByRole("button", { name: "Jump to latest ↓" }).click();
  await expect(logs.getByRole("button", { name: "Jump to latest ↓" })).toBeHidden();
  const latest = `12:04:46 [worker] job ${suffix} uploaded 3 thumbnails`;
  await writeContainerLines([latest]);
  await expect(view).toContainText(latest);
  await expect
    .poll(() => view.evaluate((element) => element.scrollHeight - element.scrollTop - element.clientHeight))
    .toBeLessThan(24);

  // The README screenshot: the machine's tabs and its followed container log, under the sticky header.
  await page.getByRole("link", { name: "Logs", exact: true }).evaluate((tab) => {
    window.scrollTo(0, tab.getBoundingClientRect().top + window.scrollY - 56 - 16);
  });
  const box = await logs.boundingBox();
  if (!box) throw new Error("the container logs card is not laid out");
  await page.screenshot({
    path: path.join(SCREENSHOT_DIR, "machine-logs-follow.png"),
    animations: "disabled",
    clip: { x: 0, y: 0, width: 1280, height: Math.min(900, box.y + box.height + 24) },
  });

  await logs.getByLabel("Search container logs").fill(`job ${suffix}`);
  await expect(view.locator("mark")).toHaveCount(3);
});
