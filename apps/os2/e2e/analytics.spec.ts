/**
 * Product analytics end to end: the real SPA (built with a PostHog public key) and the real server (with a
 * server key) against the PostHog stand-in, in Chromium. Runs only under playwright.analytics.config.ts,
 * which starts the stand-in and builds with the keys; the main e2e config skips it.
 *
 * One user journey runs once (beforeAll): sign in, create an organization, a project, an env var with a
 * recognisable secret value and an access token through the UI, make two mutations fail through the API,
 * then sign out. Each test then asserts one guarantee on what the stand-in recorded (its NDJSON log) and
 * what the server printed (its tee'd log).
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";

import { type APIResponse, type Browser, expect, type Page, test } from "@playwright/test";

import type { ParsedEvent } from "../test-support/posthog-standin/decode.ts";
import { bodyTextOf, readStandinLog, type StandinLogLine } from "../test-support/posthog-standin/log.ts";
import { ANALYTICS_E2E, analyticsE2ePath } from "./analytics-e2e-server.ts";

const TEST_CODE = "424242";
const ENV_VAR_KEY = "ANALYTICS_E2E_SECRET";
const STANDIN_LOG = analyticsE2ePath(ANALYTICS_E2E.standinLog);
const SERVER_LOG = analyticsE2ePath(ANALYTICS_E2E.serverLog);
/** posthog-node flushes every few seconds and posthog-js batches about every 3 s: poll, never sleep. */
const FLUSH_TIMEOUT_MS = 30_000;

type Journey = {
  userId: string;
  email: string;
  organization: { id: string; slug: string; name: string };
  project: { id: string; slug: string; name: string };
  /** Paths navigated to client-side while signed in, in order. */
  signedInPaths: string[];
  envVarValue: string;
  rawToken: string;
  /** The anonymous id before sign-in (from the $identify event). */
  anonymousIdBeforeSignIn: string;
  /** Browser clock (same machine as the stand-in) right before the sign-out click. */
  signOutStartedAt: number;
  /** Session ids of the signed-in events; reset() must start a new one. */
  sessionIdsBeforeSignOut: unknown[];
  /** Every URL the page requested, to prove analytics never left the os2 origin. */
  requestedUrls: string[];
  /** /ingest/s/ responses the browser saw (status codes). */
  replayResponses: number[];
};

let journey: Journey;

test.beforeAll(async ({ browser }, testInfo) => {
  // Runs only under playwright.analytics.config.ts (the main config ignores this file): it needs the
  // PostHog stand-in and a build with the keys.
  testInfo.setTimeout(180_000);
  journey = await runJourney(browser);
});

test("a $pageview is captured for every client-side route change, with the path (no search string) as $current_url", async () => {
  // While signed in (the first pageview after sign-in may still be attributed to the anonymous id).
  const pageviews = await waitForBrowserEvents(
    (events) =>
      events.filter(
        (event) =>
          event.event === "$pageview" &&
          capturedAt(event) < journey.signOutStartedAt &&
          journey.signedInPaths.includes(pathnameOf(event)),
      ),
    (found) => journey.signedInPaths.every((path) => found.some((event) => pathnameOf(event) === path)),
    "a $pageview for each signed-in route",
  );
  expect(pageviews.length).toBeGreaterThanOrEqual(3);
  const paths = sortByTimestamp(pageviews).map(pathnameOf);
  expect(paths).toEqual(expect.arrayContaining(journey.signedInPaths));
  // The routes in navigation order, each once per navigation: no pageview is doubled by re-renders.
  expect(subsequenceIndex(paths, journey.signedInPaths)).toBe(true);
  for (let index = 1; index < paths.length; index += 1) expect(paths[index]).not.toBe(paths[index - 1]);
  for (const pageview of pageviews) {
    expect(pageview.properties.$current_url).toBe(`${ANALYTICS_E2E.baseUrl}${pathnameOf(pageview)}`);
  }
  // The sign-in redirect put `?redirect=` in the address bar; no event carries a search string.
  const all = await browserEvents();
  const withSearch = all.filter((event) => String(event.properties.$current_url ?? "").includes("?"));
  expect(withSearch.map((event) => `${event.event} ${String(event.properties.$current_url)}`)).toEqual([]);
});

test("the signed-in user is identified once, by internal id, with the email as a person property", async () => {
  const identifies = (await browserEvents()).filter((event) => event.event === "$identify");
  const own = identifies.filter((event) => event.distinctId === journey.userId);
  expect(own).toHaveLength(1);
  const [identify] = own;
  expect(journey.userId).toMatch(/^usr_/);
  expect(personPropertiesOf(identify)).toMatchObject({ email: journey.email });
  expect(identify?.properties.$anon_distinct_id).toBe(journey.anonymousIdBeforeSignIn);
});

test("organization and project groups are identified once each, and project-page events carry both groups", async () => {
  const events = await browserEvents();
  const groupIdentifies = events.filter((event) => event.event === "$groupidentify");
  const organizationIdentifies = groupIdentifies.filter(
    (event) =>
      event.properties.$group_type === "organization" && event.properties.$group_key === journey.organization.id,
  );
  const projectIdentifies = groupIdentifies.filter(
    (event) => event.properties.$group_type === "project" && event.properties.$group_key === journey.project.id,
  );
  expect(organizationIdentifies).toHaveLength(1);
  expect(organizationIdentifies[0]?.properties.$group_set).toEqual({
    name: journey.organization.name,
    slug: journey.organization.slug,
  });
  expect(projectIdentifies).toHaveLength(1);
  expect(projectIdentifies[0]?.properties.$group_set).toEqual({
    name: journey.project.name,
    slug: journey.project.slug,
    organization_id: journey.organization.id,
  });

  const projectBase = `/orgs/${journey.organization.slug}/projects/${journey.project.slug}`;
  const projectPageviews = events.filter(
    (event) => event.event === "$pageview" && pathnameOf(event).startsWith(`${projectBase}/`),
  );
  expect(projectPageviews.length).toBeGreaterThan(0);
  for (const pageview of projectPageviews) {
    expect(pageview.properties.$groups).toEqual({ organization: journey.organization.id, project: journey.project.id });
  }
  // Back on the organization's page, the project is no longer attached; the organization still is.
  const organizationPath = `/orgs/${journey.organization.slug}`;
  const backOnOrganization = sortByTimestamp(
    events.filter((event) => event.event === "$pageview" && pathnameOf(event) === organizationPath),
  ).at(-1);
  expect(backOnOrganization?.properties.$groups).toEqual({ organization: journey.organization.id });
});

test("every browser event carries $environment from VITE_APP_STAGE and the public key, and goes through /ingest only", async () => {
  const events = (await browserEvents()).filter((event) => event.endpoint === "/e/");
  expect(events.length).toBeGreaterThan(0);
  const wrong = events.filter((event) => event.properties.$environment !== ANALYTICS_E2E.stage);
  expect(wrong.map((event) => `${event.event}: ${String(event.properties.$environment)}`)).toEqual([]);
  for (const event of events) expect(event.apiKey).toBe(ANALYTICS_E2E.browserKey);
  // The browser never talked to PostHog (or anything else) directly.
  const foreign = journey.requestedUrls.filter((url) => new URL(url).origin !== ANALYTICS_E2E.baseUrl);
  expect(foreign).toEqual([]);
  // The proxy forwarded neither the session cookie nor an Authorization header, and added the client IP.
  const lines = await readStandinLog(STANDIN_LOG);
  for (const line of lines) {
    expect(line.headers.cookie, `${line.method} ${line.path}`).toBeUndefined();
    expect(line.headers.authorization, `${line.method} ${line.path}`).toBeUndefined();
  }
  const forwarded = lines.filter((line) => line.path === "/e/");
  expect(forwarded.length).toBeGreaterThan(0);
  for (const line of forwarded) expect(line.headers["x-forwarded-for"]).toBeTruthy();
});

test("session replay snapshots reach PostHog through the /ingest proxy", async () => {
  const snapshots = await waitForBrowserEvents(
    (events) => events.filter((event) => event.endpoint === "/s/" && event.event === "$snapshot"),
    (found) => found.length > 0,
    "a $snapshot on /s/",
  );
  expect(snapshots[0]?.properties.$snapshot_data).toBeTruthy();
  expect(snapshots[0]?.properties.$session_id).toBeTruthy();
  expect(journey.replayResponses.length).toBeGreaterThan(0);
  expect(journey.replayResponses.every((status) => status === 200)).toBe(true);
});

test("creating an organization, project, env var and access token in the UI sends exactly one server event each", async () => {
  const serverEvents = await waitForServerEvents(["project_updated"]);
  const expected = [
    { event: "organization_created", groups: { organization: journey.organization.id } },
    { event: "project_created", groups: { organization: journey.organization.id, project: journey.project.id } },
    { event: "env_var_set", groups: { organization: journey.organization.id, project: journey.project.id } },
    { event: "access_token_created", groups: { organization: journey.organization.id, project: journey.project.id } },
  ];
  for (const { event, groups } of expected) {
    const matching = serverEvents.filter((candidate) => candidate.event === event);
    expect(matching, event).toHaveLength(1);
    const [captured] = matching;
    expect(captured?.apiKey).toBe(ANALYTICS_E2E.serverKey);
    expect(captured?.properties).toMatchObject({
      $lib: "posthog-node",
      $environment: ANALYTICS_E2E.stage,
      $groups: groups,
    });
  }
});

test("mutations that fail (invalid env var key, taken organization slug) send no server event", async () => {
  // project_updated was sent after both failures, and posthog-node sends in order: once it has arrived,
  // an event from either failure would have arrived too.
  const serverEvents = await waitForServerEvents(["project_updated"]);
  expect(serverEvents.filter((event) => event.event === "env_var_set")).toHaveLength(1);
  expect(serverEvents.filter((event) => event.event === "organization_created")).toHaveLength(1);
});

test("sign-out resets analytics: later events have a new anonymous distinct id and still carry $environment", async () => {
  // The /login pageview after the sign-out click is captured after reset() (sign-out resets, then
  // navigates). Its session is the new one; every event of that session must be anonymous and staged.
  const events = await browserEvents();
  const loginAfterSignOut = sortByTimestamp(
    events.filter(
      (event) =>
        event.event === "$pageview" && pathnameOf(event) === "/login" && capturedAt(event) > journey.signOutStartedAt,
    ),
  )[0];
  expect(loginAfterSignOut, "a /login $pageview after sign-out").toBeDefined();
  const newSessionId = loginAfterSignOut?.properties.$session_id;
  expect(newSessionId).toBeTruthy();
  const afterSignOut = events.filter(
    (event) =>
      event.endpoint === "/e/" &&
      (event.properties.$session_id === newSessionId || capturedAt(event) > capturedAt(loginAfterSignOut)),
  );
  expect(journey.sessionIdsBeforeSignOut).not.toContain(newSessionId);
  for (const event of afterSignOut) {
    expect(event.distinctId, event.event).toBeTruthy();
    expect(event.distinctId, event.event).not.toBe(journey.userId);
    expect(event.distinctId, event.event).not.toBe(journey.anonymousIdBeforeSignIn);
    expect(event.properties.$environment, event.event).toBe(ANALYTICS_E2E.stage);
    expect(event.properties.$groups ?? {}, event.event).toEqual({});
  }
});

test("no body sent to PostHog and no server log line contains the env var value or the raw access token", async () => {
  // Let both clients flush what the journey produced before scanning.
  await waitForServerEvents(["project_updated"]);
  await waitForBrowserEvents(
    (events) => events.filter((event) => event.endpoint === "/s/"),
    (found) => found.length > 0,
    "replay traffic",
  );
  const secrets = { "env var value": journey.envVarValue, "access token": journey.rawToken };
  const lines = await readStandinLog(STANDIN_LOG);
  expect(lines.length).toBeGreaterThan(0);
  const textsByLine = lines.map((line) => ({ line, texts: scannableTexts(line) }));
  // The scan reaches into replay's compressed DOM snapshots: the env var's key, which the page shows as
  // text next to the masked value, is found there. Without this, a scan of still-compressed bytes would
  // pass whatever the recording contained.
  const replayTexts = textsByLine.filter(({ line }) => line.path === "/s/").flatMap(({ texts }) => texts);
  expect(replayTexts.some((text) => text.includes(ENV_VAR_KEY))).toBe(true);
  // …and the dialog that showed the raw token was recorded too (its token field is masked).
  expect(replayTexts.some((text) => text.includes("this is the only time it is shown"))).toBe(true);
  for (const { line, texts } of textsByLine) {
    for (const [name, secret] of Object.entries(secrets)) {
      expect(
        texts.some((text) => text.includes(secret)),
        `${name} in ${line.method} ${line.path}`,
      ).toBe(false);
    }
  }
  const serverLog = await readFile(SERVER_LOG, "utf8");
  expect(serverLog.length).toBeGreaterThan(0);
  for (const [name, secret] of Object.entries(secrets)) {
    expect(serverLog.includes(secret), `${name} in the server log`).toBe(false);
  }
});

// ---------------------------------------------------------------------------------------------------------

async function runJourney(browser: Browser): Promise<Journey> {
  const suffix = randomBytes(4).toString("hex");
  const email = `analytics-${suffix}+test@example.com`;
  const organizationName = `Telemetry ${suffix}`;
  const projectName = `Dashboard ${suffix}`;
  const envVarValue = `sk_live_analytics_${randomBytes(12).toString("hex")}`;
  const context = await browser.newContext();
  const page = await context.newPage();
  const requestedUrls: string[] = [];
  const replayResponses: number[] = [];
  page.on("request", (request) => {
    if (!request.url().startsWith("data:") && !request.url().startsWith("blob:")) requestedUrls.push(request.url());
  });
  page.on("response", (response) => {
    if (new URL(response.url()).pathname.startsWith("/ingest/s/")) replayResponses.push(response.status());
  });
  const signedInPaths: string[] = [];
  const expectPath = async (path: string) => {
    await expect(page).toHaveURL(`${ANALYTICS_E2E.baseUrl}${path}`);
    signedInPaths.push(path);
  };

  await page.goto("/");
  await expect(page).toHaveURL(/\/login/);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByRole("button", { name: "Send code" }).click();
  await page.getByLabel("Code", { exact: true }).fill(TEST_CODE);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expectPath("/new-organization");

  await page.getByLabel("Name", { exact: true }).fill(organizationName);
  await page.getByRole("button", { name: "Create organization" }).click();
  await expect(page).toHaveURL(/\/orgs\/[^/]+$/);
  const organizationSlug = new URL(page.url()).pathname.split("/")[2] ?? "";
  await expectPath(`/orgs/${organizationSlug}`);

  await page.getByRole("link", { name: "New project" }).click();
  await expectPath(`/orgs/${organizationSlug}/new-project`);
  await page.getByLabel("Project name").fill(projectName);
  await page.getByRole("button", { name: "Create project" }).click();
  await expect(page).toHaveURL(new RegExp(`/orgs/${organizationSlug}/projects/[^/]+$`));
  const projectSlug = new URL(page.url()).pathname.split("/")[4] ?? "";
  const projectBase = `/orgs/${organizationSlug}/projects/${projectSlug}`;
  await expectPath(projectBase);
  await expect(page.getByRole("heading", { name: projectName })).toBeVisible();

  await page.getByRole("link", { name: "Env vars" }).click();
  await expectPath(`${projectBase}/env-vars`);
  await page.getByLabel("Key", { exact: true }).fill(ENV_VAR_KEY);
  await page.getByLabel("Value", { exact: true }).fill(envVarValue);
  await page.getByRole("button", { name: "Save variable" }).click();
  await expect(page.getByRole("row", { name: new RegExp(ENV_VAR_KEY) })).toBeVisible();

  await page.getByRole("link", { name: "Access tokens" }).click();
  await expectPath(`${projectBase}/access-tokens`);
  await page.getByLabel("Token name").fill("analytics e2e");
  await page.getByRole("button", { name: "Create token" }).click();
  const dialog = page.getByRole("dialog", { name: /Token "analytics e2e" created/ });
  const rawToken = await dialog.getByLabel("Access token").inputValue();
  expect(rawToken).toMatch(/^pat_/);
  await dialog.getByRole("button", { name: "I have copied it" }).click();
  await expect(dialog).toBeHidden();

  await page.getByRole("link", { name: `← ${organizationName}` }).click();
  await expectPath(`/orgs/${organizationSlug}`);

  const userId = String((await trpcData(await page.request.get("/api/trpc/user.me")))?.id ?? "");
  const organization = await trpcData(
    await page.request.get(trpcQueryUrl("organization.bySlug", { organizationSlug })),
  );
  const project = await trpcData(
    await page.request.get(trpcQueryUrl("project.bySlug", { organizationSlug, projectSlug })),
  );

  // Two mutations that fail: one at input validation, one inside the procedure (slug conflict). Then a
  // successful tracked one (project_updated), the marker after which their events would have arrived.
  const invalidEnvVar = await trpcMutation(page, "envVar.set", {
    organizationSlug,
    projectSlug,
    key: "not a key",
    value: envVarValue,
  });
  expect(invalidEnvVar.status()).toBe(400);
  const takenSlug = await trpcMutation(page, "organization.create", { name: "Duplicate", slug: organizationSlug });
  expect(takenSlug.ok()).toBe(false);
  const renamed = await trpcMutation(page, "project.update", { organizationSlug, projectSlug, name: projectName });
  expect(renamed.ok(), await renamed.text()).toBe(true);

  // Keep the page open long enough for replay's first batch, then the identify event, before signing out.
  const identify = await waitForBrowserEvents(
    (events) => events.filter((event) => event.event === "$identify" && event.distinctId === userId),
    (found) => found.length > 0,
    "the $identify event",
  );
  await waitForBrowserEvents(
    (events) => events.filter((event) => event.endpoint === "/s/"),
    (found) => found.length > 0,
    "replay traffic before sign-out",
  );

  const sessionIdsBeforeSignOut = [
    ...new Set(
      (await browserEvents())
        .filter((event) => event.distinctId === userId)
        .map((event) => event.properties.$session_id),
    ),
  ];
  const signOutStartedAt = await page.evaluate(() => Date.now());
  await page.getByRole("button", { name: "Account menu" }).click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  // Wait for the post-sign-out pageview to be sent, then close (flushing anything left).
  await waitForBrowserEvents(
    (events) =>
      events.filter(
        (event) =>
          event.event === "$pageview" && pathnameOf(event) === "/login" && capturedAt(event) > signOutStartedAt,
      ),
    (found) => found.length > 0,
    "the /login $pageview after sign-out",
  );
  await context.close();

  return {
    userId,
    email,
    organization: { id: String(organization?.id), slug: organizationSlug, name: organizationName },
    project: { id: String(project?.id), slug: projectSlug, name: projectName },
    signedInPaths,
    envVarValue,
    rawToken,
    anonymousIdBeforeSignIn: String(identify[0]?.properties.$anon_distinct_id ?? ""),
    signOutStartedAt,
    sessionIdsBeforeSignOut,
    requestedUrls,
    replayResponses,
  };
}

/**
 * Every text a line carries, decoded as far as PostHog would decode it: the body (gunzipped or
 * base64-unwrapped by bodyTextOf), the raw bytes, query and headers, and each gzip-compressed string nested
 * in the JSON. posthog-js compresses replay's DOM snapshots and mutations into such strings (gzip bytes as
 * one char per byte) inside `$snapshot_data`, so the page's text is only visible after this step.
 */
function scannableTexts(line: StandinLogLine): string[] {
  const body = bodyTextOf(line);
  const texts = [
    body,
    Buffer.from(line.bodyBase64, "base64").toString("utf8"),
    line.search,
    JSON.stringify(line.headers),
  ];
  const visit = (value: unknown): void => {
    if (typeof value === "string") {
      if (value.charCodeAt(0) !== 0x1f || value.charCodeAt(1) !== 0x8b) return;
      const inflated = gunzipSync(Buffer.from(value, "latin1")).toString("utf8");
      texts.push(inflated);
      visit(parseJsonOrUndefined(inflated));
    } else if (Array.isArray(value)) {
      value.forEach(visit);
    } else if (typeof value === "object" && value !== null) {
      Object.values(value).forEach(visit);
    }
  };
  visit(parseJsonOrUndefined(body));
  return texts;
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function trpcQueryUrl(path: string, input: unknown): string {
  return `/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
}

function trpcMutation(page: Page, path: string, input: unknown): Promise<APIResponse> {
  return page.request.post(`/api/trpc/${path}`, {
    data: { json: input },
    headers: { origin: ANALYTICS_E2E.baseUrl },
  });
}

async function trpcData(response: APIResponse): Promise<Record<string, unknown> | undefined> {
  const text = await response.text();
  expect(response.ok(), text).toBe(true);
  const body = JSON.parse(text) as { result?: { data?: { json?: Record<string, unknown> } } };
  return body.result?.data?.json;
}

/** Events posthog-js sent (through /ingest), in arrival order. */
async function browserEvents(): Promise<ParsedEvent[]> {
  return eventsFrom(await readStandinLog(STANDIN_LOG), (line) => line.path !== "/batch/");
}

/** The journey user's posthog-node events, once every name in `waitFor` has arrived. */
async function waitForServerEvents(waitFor: string[]): Promise<ParsedEvent[]> {
  return pollLog(
    (lines) =>
      eventsFrom(lines, (line) => line.path === "/batch/").filter((event) => event.distinctId === journey.userId),
    (events) => waitFor.every((name) => events.some((event) => event.event === name)),
    `server events ${waitFor.join(", ")}`,
  );
}

function waitForBrowserEvents(
  select: (events: ParsedEvent[]) => ParsedEvent[],
  done: (found: ParsedEvent[]) => boolean,
  what: string,
): Promise<ParsedEvent[]> {
  return pollLog((lines) => select(eventsFrom(lines, (line) => line.path !== "/batch/")), done, what);
}

async function pollLog<T>(
  select: (lines: StandinLogLine[]) => T,
  done: (value: T) => boolean,
  what: string,
): Promise<T> {
  const deadline = Date.now() + FLUSH_TIMEOUT_MS;
  for (;;) {
    const value = select(await readStandinLog(STANDIN_LOG));
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`The PostHog stand-in did not record ${what} within ${FLUSH_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function eventsFrom(lines: StandinLogLine[], keep: (line: StandinLogLine) => boolean): ParsedEvent[] {
  return lines.filter(keep).flatMap((line) => line.events);
}

function pathnameOf(event: ParsedEvent): string {
  return String(event.properties.$pathname ?? "");
}

function personPropertiesOf(event: ParsedEvent | undefined): unknown {
  return event?.raw.$set ?? event?.properties.$set;
}

/** posthog-js stamps events with the browser clock, the same machine's clock as Date.now() in the page. */
function capturedAt(event: ParsedEvent | undefined): number {
  return Date.parse(event?.timestamp ?? "") || 0;
}

function sortByTimestamp(events: ParsedEvent[]): ParsedEvent[] {
  return [...events].sort((a, b) => capturedAt(a) - capturedAt(b));
}

/** Whether `wanted` appears in `list` in order (other items may sit between). */
function subsequenceIndex(list: string[], wanted: string[]): boolean {
  let next = 0;
  for (const item of list) if (item === wanted[next]) next += 1;
  return next === wanted.length;
}
