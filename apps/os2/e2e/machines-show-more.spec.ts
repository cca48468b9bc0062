/**
 * The machines list of a project with more machines than one page (50) in a real browser: the first page
 * shows the 50 newest, "Show 5 more" adds the rest below them with no machine twice, and the header and
 * the project's overview count every machine.
 *
 * The machines are real local-docker machines, made through the API as the signed-in member: nothing in
 * the server is stubbed. To keep 55 of them cheap on a shared host they are made five at a time, and each
 * is stopped once it runs (a stopped container holds no memory or CPU, and the organization's quota of
 * running machines, 10 by default, is never reached); the last three are left running, for the overview's
 * running count. `finally` deletes every machine and checks Docker holds no container for any of them.
 */
import { randomBytes } from "node:crypto";

import { expect, type Page, test } from "@playwright/test";

import { createProject, DashboardApi, type OwnedMachine, ownedMachine, type Scope, signIn } from "./machine-fixture.ts";

const MACHINES = 55;
const PAGE_SIZE = 50;
const BATCH = 5;
const LEFT_RUNNING = 3;

type MachineRow = { id: string; observedState: string; lastError: string | null };

async function waitForState(api: DashboardApi, scope: Scope, machineId: string, state: string) {
  await expect
    .poll(
      async () => {
        const row = await api.query<MachineRow>("machine.byId", { ...scope, machineId });
        return `${row.observedState}${row.lastError ? ` (${row.lastError})` : ""}`;
      },
      { timeout: 60_000, intervals: [200] },
    )
    .toBe(state);
}

/**
 * The whole list, into the test's output directory. From the top: a full-page shot of a scrolled page draws
 * the sticky header in the middle.
 */
async function fullPageShot(page: Page, name: string) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: test.info().outputPath(name), fullPage: true, animations: "disabled" });
}

test(`a project with ${MACHINES} machines lists the newest ${PAGE_SIZE}, "Show more" adds the other ${MACHINES - PAGE_SIZE} once each, and the overview counts all ${MACHINES}`, async ({
  page,
}) => {
  test.setTimeout(600_000);
  const suffix = randomBytes(3).toString("hex");
  const api = new DashboardApi(page);
  const owned: OwnedMachine[] = [];
  /** Machine ids per batch, in the order the batches were made (a batch's own order is not fixed). */
  const batches: string[][] = [];

  try {
    await signIn(page, `show-more-${suffix}+test@example.com`);
    const scope = await createProject(api, `more-${suffix}`);

    await test.step(`make ${MACHINES} machines, ${BATCH} at a time, stopping all but the last ${LEFT_RUNNING}`, async () => {
      for (let start = 0; start < MACHINES; start += BATCH) {
        const numbers = Array.from({ length: Math.min(BATCH, MACHINES - start) }, (_, i) => start + i + 1);
        // Settled, not Promise.all: when one create fails, the others of its batch are still owned (and
        // removed in `finally`) before the test goes on to fail.
        const settled = await Promise.allSettled(
          numbers.map(async (n) => {
            const machine = await ownedMachine(api, scope, `fleet-${suffix}-${String(n).padStart(2, "0")}`);
            owned.push(machine);
            return { n, machine };
          }),
        );
        const failed = settled.find((result) => result.status === "rejected");
        if (failed) throw failed.reason;
        const made = settled.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
        batches.push(made.map(({ machine }) => machine.id));
        await Promise.all(
          made
            .filter(({ n }) => n <= MACHINES - LEFT_RUNNING)
            .map(async ({ machine }) => {
              await api.mutation("machine.stop", { ...scope, machineId: machine.id });
              await waitForState(api, scope, machine.id, "stopped");
            }),
        );
      }
    });
    const all = batches.flat();
    expect(new Set(all).size).toBe(MACHINES);
    // Newest first: the first page is every batch but the first, the second page the first batch.
    const firstPage = new Set(batches.slice(1).flat());
    const secondPage = new Set(batches[0]);
    expect(firstPage.size).toBe(PAGE_SIZE);

    const machinesPath = `/orgs/${scope.organizationSlug}/projects/${scope.projectSlug}/machines`;
    const table = page.getByRole("table", { name: "Machines" });
    const rows = table.locator("tbody tr");
    const shownIds = async () =>
      (await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-machine-id") ?? ""))).filter(Boolean);

    let pageOne: string[] = [];
    await test.step(`the list shows the ${PAGE_SIZE} newest, and says how many there are in all`, async () => {
      await page.goto(machinesPath);
      await expect(rows).toHaveCount(PAGE_SIZE);
      await expect(page.getByText(`Showing ${PAGE_SIZE} of ${MACHINES}`)).toBeVisible();
      pageOne = await shownIds();
      expect(new Set(pageOne)).toEqual(firstPage);
      // Spot checks on the rows themselves: the newest machine's name is on the page, the oldest's is not.
      await expect(table.getByRole("link", { name: `fleet-${suffix}-${MACHINES}`, exact: true })).toBeVisible();
      await expect(table.getByRole("link", { name: `fleet-${suffix}-01`, exact: true })).toHaveCount(0);
      await expect(
        rows.filter({ has: page.locator('[data-testid="machine-status"][data-state="running"]') }),
      ).toHaveCount(LEFT_RUNNING);
      await fullPageShot(page, "machines-first-page.png");
    });

    await test.step(`"Show ${MACHINES - PAGE_SIZE} more" (what is left, not a page) adds the other ${MACHINES - PAGE_SIZE} below, none twice, and the footer goes`, async () => {
      await page.getByRole("button", { name: `Show ${MACHINES - PAGE_SIZE} more` }).click();
      await expect(rows).toHaveCount(MACHINES);
      const shown = await shownIds();
      expect(shown).toHaveLength(MACHINES);
      expect(new Set(shown).size).toBe(MACHINES);
      expect(shown.slice(0, PAGE_SIZE)).toEqual(pageOne);
      expect(new Set(shown.slice(PAGE_SIZE))).toEqual(secondPage);
      expect(new Set(shown)).toEqual(new Set(all));
      await expect(table.getByRole("link", { name: `fleet-${suffix}-01`, exact: true })).toBeVisible();
      await expect(page.getByText(/^Showing \d+/)).toHaveCount(0);
      await expect(page.getByRole("button", { name: /^Show \d+ more$/ })).toHaveCount(0);
      await fullPageShot(page, "machines-after-show-more.png");
    });

    await test.step(`the overview counts ${MACHINES} machines, ${LEFT_RUNNING} running`, async () => {
      await page.getByRole("navigation", { name: "Project" }).getByRole("link", { name: "Overview" }).click();
      const machinesCard = page.getByRole("link", { name: "Open machines" }).locator("..");
      await expect(machinesCard.locator("p")).toHaveText(["Machines", String(MACHINES), `${LEFT_RUNNING} running`]);
    });
  } finally {
    // Eight at a time: each waits until Docker holds no container for its machine.
    for (let i = 0; i < owned.length; i += 8) await Promise.all(owned.slice(i, i + 8).map((m) => m.remove()));
  }
});
