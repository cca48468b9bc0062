/**
 * A generated battery of bad input against every procedure of the app router, sent over HTTP in tRPC's
 * wire format the way the SPA's client sends it. Procedures are discovered from the router, so a new one
 * is covered without touching this file; each starts from a realistic valid input (the table below) that
 * is then mutated field by field. The guarantee: no bad input is ever a 5xx, every 4xx says what is wrong,
 * and no control character reaches storage through a known field.
 */
import type { AnyProcedure } from "@trpc/server";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { encodeMachineCursor } from "../services/machines/machine-list.ts";
import { createTestOs2, DASHBOARD_ORIGIN, type TestOs2 } from "../testing/harness.ts";
import { appRouter } from "./app-router.ts";

type World = {
  org: string;
  orgId: string;
  project: string;
  projectId: string;
  memberUserId: string;
  envVarId: string;
  tokenId: string;
};

/** Every procedure by its dotted path: tRPC keeps them flattened in `_def.procedures` (typed as the nested record). */
const PROCEDURES = appRouter._def.procedures as unknown as Record<string, AnyProcedure>;

/** A machine id of the right shape that exists nowhere: machine procedures answer NOT_FOUND, never touch Docker. */
const MISSING_MACHINE = `mach_${"0".repeat(26)}`;

const org = (w: World) => ({ organizationSlug: w.org });
const proj = (w: World) => ({ organizationSlug: w.org, projectSlug: w.project });
const machine = (w: World) => ({ ...proj(w), machineId: MISSING_MACHINE });

/**
 * One realistic valid input per procedure that takes one (undefined: it takes none). `unique` differs on
 * every call, for fields a second call could not reuse (a new organization's slug).
 */
const VALID_INPUTS: Record<string, (w: World, unique: number) => unknown> = {
  "user.me": () => undefined,
  "user.organizations": () => undefined,
  "user.update": () => ({ name: "Ada Lovelace" }),
  "user.authConfig": () => undefined,
  "organization.create": (_w, unique) => ({ name: "Battery Org", slug: `battery-org-${unique}` }),
  "organization.bySlug": org,
  // The slug stays the same so later calls still find the organization.
  "organization.update": (w) => ({ ...org(w), name: "Renamed Org", slug: w.org }),
  "organization.delete": org,
  "organization.members": org,
  "organization.machines": org,
  "organization.addMember": (w, unique) => ({
    ...org(w),
    email: `newcomer-${unique}+test@example.com`,
    role: "member",
  }),
  "organization.updateMemberRole": (w) => ({ ...org(w), userId: w.memberUserId, role: "admin" }),
  "organization.removeMember": (w) => ({ ...org(w), userId: w.memberUserId }),
  "project.list": org,
  "project.bySlug": proj,
  "project.machines": proj,
  "project.create": (w) => ({ ...org(w), name: "Another Project" }),
  "project.update": (w) => ({ ...proj(w), name: "Renamed Project", newSlug: w.project }),
  "project.setMachineDefaults": (w) => ({ ...proj(w), cpus: 1, memoryMb: 1024, pids: 512 }),
  "project.warmPool": proj,
  "project.setWarmPoolSize": (w) => ({ ...proj(w), size: 0 }),
  "project.delete": proj,
  "envVar.list": proj,
  "envVar.set": (w) => ({
    ...proj(w),
    key: "DEPLOY_KEY",
    value: "-----BEGIN KEY-----\r\n\tabc\n-----END KEY-----\n",
    machineId: null,
  }),
  "envVar.delete": (w) => ({ ...proj(w), id: w.envVarId }),
  "accessToken.list": proj,
  "accessToken.create": (w) => ({ ...proj(w), name: "ci" }),
  "accessToken.revoke": (w) => ({ ...proj(w), id: w.tokenId }),
  "machine.types": proj,
  // A cursor of this project's list, past a machine that exists nowhere: a valid (empty) page.
  "machine.list": (w) => ({
    ...proj(w),
    includeArchived: true,
    limit: 50,
    cursor: encodeMachineCursor({
      projectId: w.projectId,
      createdAt: "2026-01-01T00:00:00.000000Z",
      id: MISSING_MACHINE,
    }),
  }),
  "machine.counts": proj,
  "machine.byId": machine,
  "machine.create": (w) => ({
    ...proj(w),
    name: "brave-otter",
    type: "local-docker",
    limits: { cpus: 1, memoryMb: 512, pids: 256 },
  }),
  "machine.limits": proj,
  "machine.start": machine,
  "machine.stop": machine,
  "machine.restart": machine,
  "machine.archive": machine,
  "machine.unarchive": machine,
  "machine.recreate": machine,
  "machine.delete": machine,
  "machine.getPreviewInfo": (w) => ({ ...machine(w), port: 3000 }),
  "machine.ports": machine,
  "machine.events": machine,
  "machine.logs": (w) => ({ ...machine(w), tail: 100 }),
  "machine.followLogs": (w) => ({ ...machine(w), tail: 100 }),
  "machine.usage": machine,
  "machine.usageMany": (w) => ({ ...proj(w), machineIds: [MISSING_MACHINE] }),
  "machine.effectiveEnv": machine,
  "admin.users": () => undefined,
  "admin.organizations": () => undefined,
  "admin.warmPool": () => undefined,
  "admin.setOrganizationLimits": (w) => ({
    organizationId: w.orgId,
    maxCpus: 4,
    maxMemoryMb: 4096,
    maxPids: 1000,
    maxRunningMachines: 5,
  }),
};

/** Valid inputs of these would start a real container; only the inputs validation refuses are sent. */
const STARTS_A_CONTAINER = new Set(["machine.create"]);

/** Fields that hold any text but NUL (secrets: PEM keys span lines); every other string refuses control characters. */
const ANY_TEXT_BUT_NUL = new Set(["envVar.set:value"]);

type Case = { label: string; input: unknown; omitInput?: boolean; mustRefuse?: boolean };

const MB_STRING = "x".repeat(1_000_000);
const CONTROL_CHARACTERS: Array<[string, string]> = [
  ["NUL", "\u0000"],
  ["SOH", "\u0001"],
  ["BEL", "\u0007"],
  ["backspace", "\b"],
  ["tab", "\t"],
  ["line feed", "\n"],
  ["vertical tab", "\u000b"],
  ["carriage return", "\r"],
  ["ESC", "\u001b"],
  ["US", "\u001f"],
  ["DEL", "\u007f"],
];

function deeplyNested(depth: number): unknown {
  let value: unknown = "bottom";
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

type Path = string[];
type Leaf = { path: Path; value: unknown };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Every field of a valid input, nested objects included (their fields and themselves). */
function fieldsOf(value: unknown, path: Path = []): Leaf[] {
  if (!isPlainObject(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => [
    { path: [...path, key], value: child },
    ...fieldsOf(child, [...path, key]),
  ]);
}

function withField(root: unknown, path: Path, replace: (parent: Record<string, unknown>, key: string) => void) {
  const copy = structuredClone(root) as Record<string, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
  replace(parent, path.at(-1) ?? "");
  return copy;
}
const setField = (root: unknown, path: Path, value: unknown) =>
  withField(root, path, (parent, key) => {
    parent[key] = value;
  });
const dropField = (root: unknown, path: Path) =>
  withField(root, path, (parent, key) => {
    delete parent[key];
  });

const WRONG_TYPES: Array<[string, unknown]> = [
  ["a number", 42],
  ["a boolean", true],
  ["null", null],
  ["an empty array", []],
  ["an array of strings", ["a", "b"]],
  ["an empty object", {}],
  ["an object 1000 deep", deeplyNested(1000)],
];

function stringCases(procedure: string, make: () => unknown, path: Path, value: string): Case[] {
  const field = path.join(".");
  const middle = Math.max(1, Math.floor(value.length / 2));
  const cases: Case[] = CONTROL_CHARACTERS.map(([name, char]) => ({
    label: `${field} with ${name} inside`,
    input: setField(make(), path, `${value.slice(0, middle)}${char}${value.slice(middle)}`),
    mustRefuse: char === "\u0000" || !ANY_TEXT_BUT_NUL.has(`${procedure}:${field}`),
  }));
  cases.push(
    { label: `${field} that is only NUL`, input: setField(make(), path, "\u0000"), mustRefuse: true },
    { label: `${field} ending in NUL`, input: setField(make(), path, `${value}\u0000`), mustRefuse: true },
    { label: `${field} of 1 MB`, input: setField(make(), path, MB_STRING) },
    { label: `${field} empty`, input: setField(make(), path, "") },
    { label: `${field} only spaces`, input: setField(make(), path, "   ") },
    { label: `${field} with a lone surrogate`, input: setField(make(), path, `${value}\ud800`) },
    { label: `${field} with a right-to-left override`, input: setField(make(), path, `\u202e${value}`) },
    { label: `${field} with an emoji`, input: setField(make(), path, `${value}🦦`) },
    { label: `${field} like SQL`, input: setField(make(), path, `${value}' OR 1=1 --`) },
    { label: `${field} like a path`, input: setField(make(), path, "../../etc/passwd") },
    { label: `${field} percent-encoded NUL`, input: setField(make(), path, `${value}%00`) },
  );
  // Ids: the right shape of another kind, the wrong case, one character too many, a valid one that exists nowhere.
  const id = /^([a-z]+)_([0-9a-z]{26})$/.exec(value);
  if (id) {
    cases.push(
      { label: `${field} of another kind`, input: setField(make(), path, `zzz_${id[2]}`) },
      { label: `${field} in capitals`, input: setField(make(), path, value.toUpperCase()) },
      { label: `${field} one character too long`, input: setField(make(), path, `${value}0`) },
      { label: `${field} that exists nowhere`, input: setField(make(), path, `${id[1]}_${"z".repeat(26)}`) },
    );
  }
  return cases;
}

function numberCases(make: () => unknown, path: Path, value: number): Case[] {
  const field = path.join(".");
  const numbers: Array<[string, unknown]> = [
    ["negative", -1],
    ["zero", 0],
    ["fractional", value + 0.5],
    ["2^31", 2 ** 31],
    ["beyond 2^53", 2 ** 53 + 2],
    ["1e308", 1e308],
    ["-1e308", -1e308],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["-Infinity", Number.NEGATIVE_INFINITY],
    ["a numeric string", String(value)],
    ["a bigint", BigInt(value) * 10n ** 30n],
    ["a date", new Date(0)],
  ];
  return numbers.map(([what, replacement]) => ({
    label: `${field} ${what}`,
    input: setField(make(), path, replacement),
  }));
}

/**
 * The organization and project slugs are parsed by the shared procedure tiers (trpc/init.ts), the same
 * schema for every procedure: the full set of mutations runs against one procedure of each tier, the
 * others get the few that matter most, which keeps the battery well under a minute.
 */
const SCOPE_FIELDS = new Set(["organizationSlug", "projectSlug"]);
const FULL_SCOPE_CHECKS = new Set(["organization.bySlug", "project.bySlug", "organization.update", "envVar.set"]);

function scopeCases(make: () => unknown, path: Path, value: string): Case[] {
  const field = path.join(".");
  return [
    { label: `${field} missing`, input: dropField(make(), path) },
    { label: `${field} as a number`, input: setField(make(), path, 42) },
    { label: `${field} as null`, input: setField(make(), path, null) },
    { label: `${field} with NUL inside`, input: setField(make(), path, `${value}\u0000x`), mustRefuse: true },
    { label: `${field} with DEL inside`, input: setField(make(), path, `${value}\u007fx`), mustRefuse: true },
    { label: `${field} of 1 MB`, input: setField(make(), path, MB_STRING) },
    { label: `${field} that exists nowhere`, input: setField(make(), path, "nowhere-at-all") },
  ];
}

/** Just the fields that say where (an update with nothing to change, a create with nothing to create). */
function onlyScope(valid: unknown) {
  const { organizationSlug, projectSlug } = valid as { organizationSlug?: string; projectSlug?: string };
  return { ...(organizationSlug ? { organizationSlug } : {}), ...(projectSlug ? { projectSlug } : {}) };
}

/** The bad inputs for one procedure, each derived from a fresh valid input. */
function casesFor(procedure: string, make: () => unknown): Case[] {
  const valid = make();
  const cases: Case[] = [
    { label: "the valid input", input: valid },
    { label: "no input at all", input: undefined, omitInput: true },
    { label: "null", input: null },
    { label: "an array where the object goes", input: [valid] },
    { label: "an empty array", input: [] },
    { label: "a string", input: "organizationSlug" },
    { label: "a number", input: 42 },
    { label: "an empty object", input: {} },
    { label: "an object 1000 deep", input: deeplyNested(1000) },
  ];
  if (!isPlainObject(valid)) {
    cases.push({ label: "unknown fields", input: { unexpected: "\u0000", constructor: { prototype: { bad: 1 } } } });
    return cases;
  }
  cases.push(
    { label: "an extra unknown field", input: { ...(make() as object), unexpected: "x" } },
    { label: "an extra field with NUL", input: { ...(make() as object), "un\u0000known": "\u0000" } },
    { label: "prototype-looking fields", input: { ...(make() as object), constructor: { prototype: { bad: 1 } } } },
    { label: "only the organization and project", input: onlyScope(make()) },
  );
  for (const { path, value } of fieldsOf(valid)) {
    const field = path.join(".");
    if (SCOPE_FIELDS.has(field) && !FULL_SCOPE_CHECKS.has(procedure)) {
      cases.push(...scopeCases(make, path, String(value)));
      continue;
    }
    cases.push({ label: `${field} missing`, input: dropField(make(), path) });
    cases.push(
      ...WRONG_TYPES.filter(([, wrong]) => typeof wrong !== typeof value || value === null || wrong === null).map(
        ([what, wrong]) => ({ label: `${field} as ${what}`, input: setField(make(), path, wrong) }),
      ),
    );
    if (typeof value === "string") cases.push(...stringCases(procedure, make, path, value));
    else if (typeof value === "number") cases.push(...numberCases(make, path, value));
    else if (value === null) cases.push(...stringCases(procedure, make, path, "x"));
    else if (isPlainObject(value))
      cases.push({ label: `${field} as an array`, input: setField(make(), path, [value]) });
  }
  return cases;
}

/** Whether every input parser of the procedure accepts the input (i.e. it would reach the service). */
async function passesValidation(procedure: AnyProcedure, input: unknown) {
  const parsers = procedure._def.inputs as Array<{ "~standard": { validate(value: unknown): unknown } }>;
  for (const parser of parsers) {
    const result = (await parser["~standard"].validate(input)) as { issues?: unknown };
    if (result.issues) return false;
  }
  return true;
}

type Answer = { status: number; body: string };

function messageOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as {
      error?: { json?: { message?: unknown }; message?: unknown } | string;
    }[];
    const entries = Array.isArray(parsed) ? parsed : [parsed];
    const messages = entries.map((entry) => {
      const error = (entry as { error?: unknown }).error;
      if (typeof error === "string") return error;
      const shaped = error as { json?: { message?: unknown }; message?: unknown } | undefined;
      return shaped?.json?.message ?? shaped?.message;
    });
    return messages.every((message) => typeof message === "string" && message.length > 0)
      ? messages.join(" | ")
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A refusal: a 4xx with a message, or a batch (207 when its calls fared differently) in which at least one
 * call was refused and every refused call is a 4xx with a message.
 */
function refusedWithMessages(status: number, body: string): boolean {
  if (status >= 500) return false;
  if (status >= 400) return messageOf(body) !== undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return false;
  }
  if (!Array.isArray(parsed)) return false;
  const errors = parsed
    .map((entry) => (entry as { error?: { json?: { message?: unknown; data?: { httpStatus?: number } } } }).error?.json)
    .filter((error) => error !== undefined);
  return (
    errors.length > 0 &&
    errors.every(
      (error) => typeof error.message === "string" && error.message.length > 0 && (error.data?.httpStatus ?? 500) < 500,
    )
  );
}

/**
 * superjson's encoding, as the client sends it. The client refuses to encode prototype-looking keys; a
 * hostile client need not, so those go out as a bare envelope.
 */
function encode(input: unknown): string {
  try {
    return JSON.stringify(superjson.serialize(input));
  } catch {
    return JSON.stringify({ json: input });
  }
}

function describeInput(input: unknown): string {
  const text = encode(input);
  return text.length > 160 ? `${text.slice(0, 160)}… (${text.length} chars)` : text;
}

describe("malformed input over every procedure", () => {
  let t: TestOs2;
  let cookie: string;
  let worldCount = 0;

  const send = async (path: string, type: string, testCase: Case): Promise<Answer> => {
    const encoded = encode(testCase.input);
    const headers: Record<string, string> = { cookie, origin: DASHBOARD_ORIGIN };
    if (type === "subscription") return sendSubscription(path, testCase, headers);
    const response =
      type === "query"
        ? await t.fetch(`/api/trpc/${path}${testCase.omitInput ? "" : `?input=${encodeURIComponent(encoded)}`}`, {
            headers,
          })
        : await t.fetch(`/api/trpc/${path}`, {
            method: "POST",
            headers: { ...headers, "content-type": "application/json" },
            ...(testCase.omitInput ? {} : { body: encoded }),
          });
    return { status: response.status, body: await response.text() };
  };

  /**
   * A subscription answers 200 and a server-sent event stream: its first event past `connected` is either
   * data or a `serialized-error` carrying the HTTP status the error stands for; that is the answer.
   */
  const sendSubscription = async (path: string, testCase: Case, headers: Record<string, string>): Promise<Answer> => {
    const query = testCase.omitInput ? "" : `?input=${encodeURIComponent(encode(testCase.input))}`;
    const abort = new AbortController();
    const response = await t.fetch(`/api/trpc/${path}${query}`, { headers, signal: abort.signal });
    if (!response.headers.get("content-type")?.startsWith("text/event-stream") || !response.body)
      return { status: response.status, body: await response.text() };
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return { status: response.status, body: text };
        text += value;
        for (const block of text.split("\n\n").slice(0, -1)) {
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event === "connected" || event === "ping" || data === undefined) continue;
          if (event !== "serialized-error") return { status: response.status, body: data };
          const error = (JSON.parse(data) as { json?: { data?: { httpStatus?: number } } }).json;
          return { status: error?.data?.httpStatus ?? 500, body: JSON.stringify({ error: { json: error } }) };
        }
      }
    } finally {
      abort.abort();
      await reader.cancel().catch(() => undefined);
    }
  };

  async function call(path: string, input: unknown): Promise<Record<string, string | undefined>> {
    const procedure = PROCEDURES[path];
    const answer = await send(path, procedure?._def.type ?? "mutation", { label: "setup", input });
    if (answer.status !== 200) throw new Error(`${path} failed in setup: ${answer.status} ${answer.body}`);
    const data = superjson.deserialize<Record<string, string | undefined> | null>(
      (JSON.parse(answer.body) as { result: { data: never } }).result.data,
    );
    return data ?? {};
  }

  /** A fresh organization for each procedure, so a destructive call cannot starve another's checks. */
  async function newWorld(): Promise<World> {
    worldCount += 1;
    const created = await call("organization.create", { name: `Battery ${worldCount}` });
    const w = { org: created.slug ?? "", orgId: created.id ?? "" };
    const project = await call("project.create", { organizationSlug: w.org, name: "Alpha" });
    const member = await call("organization.addMember", {
      organizationSlug: w.org,
      email: "member+test@example.com",
      role: "member",
    });
    const scope = { organizationSlug: w.org, projectSlug: project.slug };
    const envVar = await call("envVar.set", { ...scope, key: "EXISTING", value: "x" });
    const token = await call("accessToken.create", { ...scope, name: "existing" });
    return {
      ...w,
      project: project.slug ?? "",
      projectId: project.id ?? "",
      memberUserId: member.userId ?? "",
      envVarId: envVar.id ?? "",
      tokenId: token.id ?? "",
    };
  }

  beforeAll(async () => {
    t = await createTestOs2({ env: { OS2_ADMIN_EMAILS: "owner+test@example.com" } });
    cookie = await t.signIn("owner+test@example.com");
  });
  afterAll(async () => t?.close());

  const procedures = Object.entries(PROCEDURES);

  it("knows a realistic valid input for every procedure", () => {
    const missing = procedures.map(([path]) => path).filter((path) => !(path in VALID_INPUTS));
    expect(missing, "add a valid input for each new procedure to VALID_INPUTS").toEqual([]);
  });

  it("answers every malformed input with a 4xx that carries a message, never a 5xx", async () => {
    const offenders: string[] = [];
    const accepted: string[] = [];
    let sent = 0;
    const started = Date.now();
    const runProcedure = async ([path, procedure]: [string, AnyProcedure]) => {
      const world = await newWorld();
      let unique = 0;
      const make = () => (VALID_INPUTS[path] ?? (() => ({})))(world, (unique += 1));
      // Inputs validation refuses go first, so a destructive valid call cannot hide later checks.
      const cases = await Promise.all(
        casesFor(path, make).map(async (c) => ({ ...c, valid: await passesValidation(procedure, c.input) })),
      );
      cases.sort((a, b) => Number(a.valid) - Number(b.valid));
      for (const testCase of cases) {
        if (testCase.valid && STARTS_A_CONTAINER.has(path)) continue;
        const answer = await send(path, procedure._def.type, testCase);
        sent += 1;
        const where = `${path} ← ${testCase.label}: ${answer.status} ${answer.body.slice(0, 200)}\n    input ${describeInput(testCase.input)}`;
        if (answer.status >= 500) offenders.push(where);
        else if (answer.status >= 400 && !messageOf(answer.body)) offenders.push(`${where} (no message)`);
        else if (answer.status < 400 && testCase.mustRefuse) accepted.push(where);
      }
    };
    // A few procedures at a time; each one's cases in order.
    const queue = [...procedures];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await runProcedure(next);
      }),
    );
    console.info(
      `malformed-input battery: ${sent} requests over ${procedures.length} procedures in ${Date.now() - started} ms`,
    );
    expect(offenders, `${offenders.length} answers were 5xx or had no message:\n${offenders.join("\n")}`).toEqual([]);
    expect(accepted, `${accepted.length} control characters were accepted:\n${accepted.join("\n")}`).toEqual([]);
    expect(sent).toBeGreaterThan(1000);
  });

  it("answers malformed HTTP shapes with a 4xx that carries a message", async () => {
    const json = { "content-type": "application/json" };
    const post = (path: string, body: string, extra: Record<string, string> = json) =>
      t.fetch(`/api/trpc/${path}`, { method: "POST", headers: { cookie, origin: DASHBOARD_ORIGIN, ...extra }, body });
    const get = (pathAndQuery: string) => t.fetch(`/api/trpc/${pathAndQuery}`, { headers: { cookie } });
    /** Envelopes superjson tolerates (it ignores meta it cannot apply); they may succeed, never fail with a 5xx. */
    const tolerated = new Set([
      "superjson meta for a path that is not there",
      "superjson meta that is not an object",
      "superjson referential equalities to nowhere",
    ]);
    const shapes: Array<[string, () => Promise<Response>]> = [
      ["bad JSON", () => post("organization.create", "{not json")],
      ["a JSON string body", () => post("organization.create", '"name"')],
      ["an empty body", () => post("organization.create", "")],
      ["a body of NUL bytes", () => post("organization.create", "\u0000\u0000")],
      ["text/plain", () => post("organization.create", '{"json":{"name":"x"}}', { "content-type": "text/plain" })],
      ["no superjson envelope", () => post("organization.create", '{"name":"Plain"}')],
      [
        "an unknown superjson type",
        () =>
          post("organization.create", JSON.stringify({ json: { name: "x" }, meta: { values: { name: ["nope"] } } })),
      ],
      [
        "superjson meta for a path that is not there",
        () =>
          post("organization.create", JSON.stringify({ json: { name: "x" }, meta: { values: { "a.b.c": ["Date"] } } })),
      ],
      [
        "superjson meta that is not an object",
        () => post("organization.create", JSON.stringify({ json: { name: "x" }, meta: "values" })),
      ],
      [
        "superjson meta values of the wrong shape",
        () => post("organization.create", JSON.stringify({ json: { name: "x" }, meta: { values: [1, 2] } })),
      ],
      [
        "a superjson Date where a name goes",
        () =>
          post("organization.create", JSON.stringify({ json: { name: "x" }, meta: { values: { name: ["Date"] } } })),
      ],
      [
        "a superjson class nobody registered",
        () =>
          post(
            "organization.create",
            JSON.stringify({ json: { name: {} }, meta: { values: { name: [["class", "Evil"]] } } }),
          ),
      ],
      [
        "superjson referential equalities to nowhere",
        () =>
          post(
            "organization.create",
            JSON.stringify({ json: { name: "x" }, meta: { referentialEqualities: { name: ["a.b"] } } }),
          ),
      ],
      [
        "a superjson prototype path",
        () =>
          post(
            "organization.create",
            JSON.stringify({ json: { name: "x" }, meta: { values: { "__proto__.polluted": ["undefined"] } } }),
          ),
      ],
      ["a query input that is not URI-encoded", () => get(`project.list?input=${"%%%"}`)],
      ["a query input that is not JSON", () => get(`project.list?input=${encodeURIComponent("{nope")}`)],
      ["a query input of NUL", () => get(`project.list?input=${encodeURIComponent("\u0000")}`)],
      [
        "a batch with a bad entry",
        () => get(`user.me,project.list?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: {}, 1: "junk" }))}`),
      ],
      [
        "a batch whose input is an array",
        () => get(`user.me,project.list?batch=1&input=${encodeURIComponent(JSON.stringify([1, 2]))}`),
      ],
      [
        "a batch whose input is not JSON",
        () => get(`user.me,project.list?batch=1&input=${encodeURIComponent("{nope")}`),
      ],
      [
        "a mutation batch with a bad entry",
        () =>
          post(
            "user.update,organization.create?batch=1",
            JSON.stringify({ 0: { json: { name: "a\u0000b" } }, 1: { json: null } }),
          ),
      ],
      ["a mutation batch whose body is a string", () => post("user.update,organization.create?batch=1", '"x"')],
      [
        "a batch naming an unknown procedure",
        () => get(`user.me,nope.nothing?batch=1&input=${encodeURIComponent("{}")}`),
      ],
      ["a batch mixing a query into mutations", () => post("user.update,user.me?batch=1", JSON.stringify({}))],
      ["a query sent as POST", () => post("project.list", JSON.stringify({ json: { organizationSlug: "x" } }))],
      ["a mutation sent as GET", () => get(`organization.create?input=${encodeURIComponent("{}")}`)],
      ["an unknown procedure", () => post("nope.nothing", "{}")],
      ["an empty procedure path", () => post("", "{}")],
      [
        "a PUT",
        () => t.fetch("/api/trpc/user.update", { method: "PUT", headers: { cookie, origin: DASHBOARD_ORIGIN } }),
      ],
    ];
    const offenders: string[] = [];
    for (const [what, send] of shapes) {
      const response = await send();
      const body = await response.text();
      const fine = tolerated.has(what) && response.status < 300 ? true : refusedWithMessages(response.status, body);
      if (!fine) offenders.push(`${what}: ${response.status} ${body.slice(0, 300)}`);
    }
    expect(offenders, offenders.join("\n")).toEqual([]);
  });
});
