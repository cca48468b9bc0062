/**
 * Live usage in Debian's Chromium against a real local-docker machine (image `iterate-sandbox:local`): a busy
 * loop started inside the machine (`docker exec`) shows up in the machine page's CPU figure within seconds;
 * memory and processes are shown against the machine's own limits; the machines table shows the compact
 * figure for the running row. Writes docs/screenshots/machine-usage.png.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { type Browser, expect, type Page, test } from "@playwright/test";

import {
  createProject,
  DashboardApi,
  execDetached,
  type OwnedMachine,
  ownedMachine,
  type Scope,
  signIn,
} from "./machine-fixture.ts";

const SCREENSHOT_DIR = fileURLToPath(new URL("../../../docs/screenshots/", import.meta.url));

type MachineLimits = { cpuMillis: number; memoryMb: number; pids: number };

test.describe.configure({ mode: "serial" });

let page: Page;
let api: DashboardApi;
let scope: Scope;
let machine: OwnedMachine;
let limits: MachineLimits;

test.beforeAll(async ({ browser }: { browser: Browser }) => {
  test.setTimeout(120_000);
  const suffix = randomBytes(3).toString("hex");
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await signIn(page, `usage-${suffix}+test@example.com`);
  api = new DashboardApi(page);
  scope = await createProject(api, `usage-${suffix}`);
  machine = await ownedMachine(api, scope, `usage-${suffix}`);
  limits = await api.query<MachineLimits>("machine.byId", { ...scope, machineId: machine.id });
});

test.afterAll(async () => {
  await machine?.remove();
  await page?.context().close();
});

const machinePage = () => `/orgs/${scope.organizationSlug}/projects/${scope.projectSlug}/machines/${machine.id}`;

/** "42%" → 42; "—" → NaN. */
const percentOf = (text: string | null) => Number.parseFloat((text ?? "").replace("%", ""));

test("a busy loop inside a machine shows up in its CPU figure within a few seconds", async () => {
  await page.goto(machinePage());
  const card = page.getByTestId("machine-usage");
  await expect(card).toBeVisible();
  // The first readings arrive while the machine idles.
  await expect(page.getByTestId("usage-memory-value")).toHaveText(/\d/, { timeout: 10_000 });
  const idle = percentOf(await page.getByTestId("usage-cpu-value").textContent());

  // Two loops, one per CPU of the limit: on a busy 2-core host one loop alone may not reach 30% of 2 CPUs.
  await execDetached(machine.containerId, ["sh", "-c", "while :; do :; done"]);
  await execDetached(machine.containerId, ["sh", "-c", "while :; do :; done"]);
  const started = Date.now();
  await expect
    .poll(async () => percentOf(await page.getByTestId("usage-cpu-value").textContent()), {
      timeout: 10_000,
      intervals: [250],
    })
    .toBeGreaterThan(30);
  const seconds = (Date.now() - started) / 1000;
  console.log(`[usage] CPU ${Number.isNaN(idle) ? "—" : `${idle}%`} idle → above 30% after ${seconds.toFixed(1)} s`);
  await expect(page.getByRole("meter", { name: "CPU against its limit" })).not.toHaveAttribute("aria-valuenow", "0");
});

test("memory and processes are shown against the machine's limits, disk as written bytes", async () => {
  await page.goto(machinePage());
  const memoryLimit = limits.memoryMb % 1024 === 0 ? `${limits.memoryMb / 1024} GiB` : `${limits.memoryMb} MiB`;
  await expect(page.getByTestId("usage-memory-detail")).toHaveText(`of ${memoryLimit}`, { timeout: 10_000 });
  await expect(page.getByTestId("usage-memory-value")).toHaveText(/^\d+(\.\d)? (KiB|MiB|GiB)$/);
  await expect(page.getByTestId("usage-pids-detail")).toHaveText(`of ${limits.pids}`);
  await expect.poll(async () => Number(await page.getByTestId("usage-pids-value").textContent())).toBeGreaterThan(1);
  const cpus = limits.cpuMillis / 1000;
  await expect(page.getByTestId("usage-cpu-detail")).toContainText(`of ${cpus.toFixed(2)} core`);
  // Disk comes from Docker's size of the container's writable layer, read at a slow cadence.
  await expect(page.getByTestId("usage-disk-value")).toHaveText(/^\d+(\.\d)? (B|KiB|MiB|GiB)$/, { timeout: 15_000 });

  await page.screenshot({
    path: path.join(SCREENSHOT_DIR, "machine-usage.png"),
    fullPage: true,
    animations: "disabled",
  });
});

test("the machines table shows the compact CPU and memory figure of a running machine", async () => {
  await page.goto(`/orgs/${scope.organizationSlug}/projects/${scope.projectSlug}/machines`);
  const row = page.locator(`tr[data-machine-id="${machine.id}"]`);
  await expect(row.getByTestId("usage-compact")).toBeVisible({ timeout: 10_000 });
  // The busy loop from the first test still runs.
  await expect
    .poll(async () => percentOf(await row.getByTestId("usage-compact-cpu").textContent()), { timeout: 10_000 })
    .toBeGreaterThan(30);
  await expect(row.getByTestId("usage-compact-memory")).toHaveText(/^\d+(\.\d)?%$/);
});
