/**
 * The machine page's terminal in Debian's Chromium against a real local-docker machine: its last row (tmux's
 * status bar) lies inside its box (bug 4: the fit addon measured the padded parent and overflowed it), it
 * is as tall as the viewport under the page's header and grows with it, fullscreen covers the window, and on a phone (390×844,
 * touch) the key bar's sticky Ctrl sends Ctrl-C to a running `sleep`.
 *
 * The tests share one machine (made in beforeAll, deleted in afterAll, Docker checked for leftovers).
 */
import { randomBytes } from "node:crypto";

import { type Browser, expect, type Page, test } from "@playwright/test";

import {
  createProject,
  DashboardApi,
  execIn,
  type OwnedMachine,
  ownedMachine,
  type Scope,
  signIn,
} from "./machine-fixture.ts";

test.describe.configure({ mode: "serial" });

let page: Page;
let scope: Scope;
let machine: OwnedMachine;
/** terminal-size.ts: the room left above (under the sticky header) and below the terminal once scrolled to. */
const TOP_GAP = 12;
const BOTTOM_GAP = 16;

test.beforeAll(async ({ browser }: { browser: Browser }) => {
  test.setTimeout(120_000);
  const suffix = randomBytes(3).toString("hex");
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await signIn(page, `term-${suffix}+test@example.com`);
  const api = new DashboardApi(page);
  scope = await createProject(api, `term-${suffix}`);
  machine = await ownedMachine(api, scope, `term-${suffix}`);
});

test.afterAll(async () => {
  await machine?.remove();
  await page?.context().close();
});

const machinePage = () => `/orgs/${scope.organizationSlug}/projects/${scope.projectSlug}/machines/${machine.id}`;

async function openTerminal(on: Page) {
  await on.goto(machinePage());
  await expect(on.getByTestId("terminal-status")).toHaveAttribute("data-status", "connected", { timeout: 30_000 });
  // xterm.js does not render while it is off screen (below the fold on a phone).
  await on.getByTestId("machine-terminal-box").scrollIntoViewIfNeeded();
  // tmux draws its status bar ("[main] 0:bash*") on the last row once attached.
  await expect.poll(async () => (await rows(on)).at(-1) ?? "", { timeout: 20_000 }).toMatch(/^\[main/);
}

async function rows(on: Page): Promise<string[]> {
  const texts = await on.getByTestId("machine-terminal").locator(".xterm-rows > div").allInnerTexts();
  return texts.map((row) => row.replace(/\u00a0/g, " ").trim());
}

type Box = { top: number; bottom: number; left: number; right: number; height: number; width: number };

/** The boxes that matter, in viewport coordinates: the whole terminal, xterm.js's host, its last row. */
async function measure(on: Page) {
  return on.evaluate(() => {
    const rect = (element: Element | null): Box => {
      const r = element?.getBoundingClientRect();
      return {
        top: r?.top ?? 0,
        bottom: r?.bottom ?? 0,
        left: r?.left ?? 0,
        right: r?.right ?? 0,
        height: r?.height ?? 0,
        width: r?.width ?? 0,
      };
    };
    const host = document.querySelector('[data-testid="machine-terminal"]');
    const rowElements = host?.querySelectorAll(".xterm-rows > div") ?? [];
    return {
      box: rect(document.querySelector('[data-testid="machine-terminal-box"]')),
      host: rect(host),
      lastRow: rect(rowElements[rowElements.length - 1] ?? null),
      rowCount: rowElements.length,
      scrollY: window.scrollY,
      headerBottom: document.querySelector("header")?.getBoundingClientRect().bottom ?? 0,
      innerHeight: window.innerHeight,
      innerWidth: window.innerWidth,
    };
  });
}

async function expectLastRowInside(on: Page) {
  const m = await measure(on);
  expect(m.rowCount).toBeGreaterThan(5);
  expect(m.lastRow.height).toBeGreaterThan(0);
  // Every pixel of the last row is inside xterm.js's host, which is inside the terminal's box.
  expect(m.lastRow.top).toBeGreaterThanOrEqual(m.host.top);
  expect(m.lastRow.bottom).toBeLessThanOrEqual(m.host.bottom + 0.5);
  expect(m.host.bottom).toBeLessThanOrEqual(m.box.bottom + 0.5);
  return m;
}

test("the terminal's last row, tmux's status bar, is fully inside its box", async () => {
  await openTerminal(page);
  const at900 = await expectLastRowInside(page);
  // On a mouse-driven screen there is no key bar.
  await expect(page.getByRole("toolbar", { name: "Terminal keys" })).toBeHidden();
  // Still inside after the window changes size and the terminal refits. The old rows still end in tmux's
  // status bar until the refit, so wait for the refit itself (fewer rows) before looking at the last one.
  await page.setViewportSize({ width: 1000, height: 760 });
  await expect.poll(async () => (await measure(page)).rowCount).toBeLessThan(at900.rowCount);
  await expect.poll(async () => (await rows(page)).at(-1) ?? "").toMatch(/^\[main/);
  await expectLastRowInside(page);
  await page.setViewportSize({ width: 1280, height: 900 });
});

test("the terminal fills the viewport under the page's header, and fullscreen covers the window", async () => {
  await openTerminal(page);
  const at900 = await measure(page);
  expect(at900.headerBottom).toBeGreaterThan(0);
  // The viewport's height, less the sticky header and the gaps: about 815 px of a 900 px screen, not 255.
  expect(Math.abs(at900.box.height - (900 - at900.headerBottom - TOP_GAP - BOTTOM_GAP))).toBeLessThanOrEqual(2);
  // Scrolled to, all of it is on screen, from its toolbar under the header to its last row.
  await page.evaluate(
    ({ gap }) => {
      const box = document.querySelector('[data-testid="machine-terminal-box"]');
      const header = document.querySelector("header")?.getBoundingClientRect().bottom ?? 0;
      if (box) window.scrollTo(0, box.getBoundingClientRect().top + window.scrollY - header - gap);
    },
    { gap: TOP_GAP },
  );
  const scrolled = await expectLastRowInside(page);
  expect(scrolled.box.top).toBeGreaterThanOrEqual(scrolled.headerBottom);
  expect(scrolled.box.bottom).toBeLessThanOrEqual(900);

  // A taller window gives it all the extra height, and the terminal gets more rows.
  await page.setViewportSize({ width: 1280, height: 1400 });
  await expect.poll(async () => Math.round((await measure(page)).box.height - at900.box.height)).toBe(500);
  await expect.poll(async () => (await measure(page)).rowCount).toBeGreaterThan(at900.rowCount + 20);
  await expect.poll(async () => (await rows(page)).at(-1) ?? "").toMatch(/^\[main/);
  await expectLastRowInside(page);
  await page.setViewportSize({ width: 1280, height: 900 });
  await expect.poll(async () => Math.round((await measure(page)).box.height)).toBe(Math.round(at900.box.height));

  await page.getByRole("button", { name: "Fullscreen" }).click();
  await expect(page.getByTestId("machine-terminal-box")).toHaveAttribute("data-fullscreen", "true");
  await expect
    .poll(async () => {
      const { box, innerWidth, innerHeight } = await measure(page);
      return [box.top, box.left, Math.round(box.width - innerWidth), Math.round(box.height - innerHeight)];
    })
    .toEqual([0, 0, 0, 0]);
  await expect.poll(async () => (await measure(page)).rowCount).toBeGreaterThan(at900.rowCount);
  await expect.poll(async () => (await rows(page)).at(-1) ?? "").toMatch(/^\[main/);
  await expectLastRowInside(page);
  // The terminal keeps the keyboard in fullscreen.
  await page.keyboard.type("echo full-$((20+3))");
  await page.keyboard.press("Enter");
  await expect.poll(async () => (await rows(page)).includes("full-23"), { timeout: 15_000 }).toBe(true);
  await page.screenshot({ path: test.info().outputPath("fullscreen-terminal.png") });

  await page.getByRole("button", { name: "Exit fullscreen" }).click();
  await expect(page.getByTestId("machine-terminal-box")).toHaveAttribute("data-fullscreen", "false");
  await expect.poll(async () => Math.round((await measure(page)).box.height)).toBe(Math.round(at900.box.height));
});

test("on a phone, the terminal key bar's Ctrl sends Ctrl-C to a running sleep", async ({ browser }) => {
  const phone = await browser.newContext({
    storageState: await page.context().storageState(),
    viewport: { width: 390, height: 844 },
    hasTouch: true,
    isMobile: true,
  });
  try {
    const mobile = await phone.newPage();
    await openTerminal(mobile);
    const bar = mobile.getByRole("toolbar", { name: "Terminal keys" });
    await expect(bar).toBeVisible();
    await expect(bar.getByRole("button")).toHaveText(["Esc", "Ctrl", "Tab", "←", "↑", "↓", "→"]);
    await expectLastRowInside(mobile);

    await mobile.getByTestId("machine-terminal").tap();
    await mobile.keyboard.type("sleep 300");
    await mobile.keyboard.press("Enter");
    const sleeping = async () => (await execIn(machine.containerId, ["pgrep", "-x", "sleep"])).exitCode === 0;
    await expect.poll(sleeping, { timeout: 15_000 }).toBe(true);

    const ctrl = bar.getByRole("button", { name: "Ctrl" });
    await ctrl.tap();
    await expect(ctrl).toHaveAttribute("aria-pressed", "true");
    await mobile.keyboard.type("c");
    // Ctrl applies once, then lets go.
    await expect(ctrl).toHaveAttribute("aria-pressed", "false");
    await expect.poll(sleeping, { timeout: 15_000 }).toBe(false);

    // The shell is back: it runs the next command.
    await mobile.keyboard.type("echo back-$((1+1))");
    await mobile.keyboard.press("Enter");
    await expect.poll(async () => (await rows(mobile)).includes("back-2"), { timeout: 15_000 }).toBe(true);
    await mobile.screenshot({ path: test.info().outputPath("phone-terminal.png") });
  } finally {
    await phone.close();
  }
});
