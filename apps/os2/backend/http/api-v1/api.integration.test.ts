/**
 * The HTTP API's contract, against a real os2 and real local-docker machines: the OpenAPI document
 * validates as OpenAPI 3.1; every documented operation refuses a call without a token (401) and another
 * project's token (404) in the one error shape; valid calls answer as documented (parsed with the same
 * schemas the document is made from), idempotency keys make a retried create one machine, the daemon-backed
 * routes run commands and round-trip files; malformed bodies on every route are 4xx in the error shape.
 */
import {
  apiEnvVarListSchema,
  apiEnvVarSchema,
  apiErrorSchema,
  apiMachineEventListSchema,
  apiMachineListSchema,
  apiMachineSchema,
  apiPreviewSchema,
  apiProjectSchema,
  execResultSchema,
  execStreamEventSchema,
  fileReadResponseSchema,
  filesListResponseSchema,
} from "@os2/protocol";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestOs2, type TestOs2 } from "../../testing/harness.ts";
import { removeContainersOfStage, setUpProject } from "../../testing/machine-fixtures.ts";

type Operation = { method: string; path: string; hasBody: boolean };
type OpenApiDocument = { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown }>> };

const IMAGE = process.env.LOCAL_DOCKER_IMAGE_NAME ?? "iterate-sandbox:local";

describe("the HTTP API (/api/v1)", () => {
  let t: TestOs2;
  let base: string;
  let token: string;
  let foreignToken: string;
  let document: OpenApiDocument;
  let operations: Operation[];
  const stage = `local-api-${Math.random().toString(36).slice(2, 8)}`;

  const call = (
    method: string,
    path: string,
    options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ) =>
    fetch(`${base}/api/v1${path}`, {
      method,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body !== undefined || options.raw !== undefined ? { "content-type": "application/json" } : {}),
        ...options.headers,
      },
      ...(options.raw !== undefined
        ? { body: options.raw }
        : options.body !== undefined
          ? { body: JSON.stringify(options.body) }
          : {}),
    });
  const ok = async <T>(response: Response, schema: { parse(value: unknown): T }, status = 200): Promise<T> => {
    const text = await response.text();
    expect(response.status, text).toBe(status);
    return schema.parse(JSON.parse(text));
  };
  /** A documented path with its parameters filled in, for calls whose answer is a refusal anyway. */
  const concrete = (path: string, machine = "no-such-machine") =>
    path
      .replace("{machine}", machine)
      .replace("{action}", "start")
      .replace("{id}", "x")
      .replace("{key}", "KEY")
      .replace("{service}", "daemon");

  beforeAll(async () => {
    t = await createTestOs2({ env: { LOCAL_DOCKER_IMAGE_NAME: IMAGE, APP_STAGE: stage } });
    base = await t.listen();
    const fx = await setUpProject(t);
    token = (await fx.api.accessToken.create.mutate({ ...fx.scope, name: "api" })).token;
    const other = await fx.api.project.create.mutate({ organizationSlug: fx.org.slug, name: "Other" });
    foreignToken = (
      await fx.api.accessToken.create.mutate({ organizationSlug: fx.org.slug, projectSlug: other.slug, name: "other" })
    ).token;
    document = (await (await fetch(`${base}/api/v1/openapi.json`)).json()) as OpenApiDocument;
    operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        hasBody: Boolean(operation.requestBody),
      })),
    );
  });
  afterAll(async () => {
    await t?.close();
    await removeContainersOfStage(stage);
  });

  it("serves an OpenAPI 3.1 document that validates, covering machines, env vars and the daemon routes", async () => {
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(document.openapi).toBe("3.1.0");
    const paths = Object.keys(document.paths);
    for (const path of [
      "/machines",
      "/machines/{machine}",
      "/env-vars",
      "/machines/{machine}/exec",
      "/machines/{machine}/files/read",
      "/machines/{machine}/terminal",
    ]) {
      expect(paths).toContain(path);
    }
    const docs = await fetch(`${base}/api/v1/docs`);
    expect(docs.status).toBe(200);
    const page = await docs.text();
    expect(page).toContain("/api/v1/openapi.json");
    // Its script comes from os2 itself, not a CDN an offline host cannot reach.
    expect(page).toContain("/api/v1/docs/scalar.js");
    const script = await fetch(`${base}/api/v1/docs/scalar.js`);
    expect(script.headers.get("content-type")).toMatch(/javascript/);
    expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
  });

  it("answers every documented operation 401 without a token, in the error shape", async () => {
    const wrong: string[] = [];
    for (const operation of operations) {
      const response = await call(operation.method, concrete(operation.path), operation.hasBody ? { body: {} } : {});
      const body = apiErrorSchema.safeParse(await response.json().catch(() => null));
      if (response.status !== 401 || !body.success || body.data.error !== "unauthorized") {
        wrong.push(`${operation.method} ${operation.path}: ${response.status}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("creates a machine once per idempotency key, runs it through its lifecycle and the daemon routes, and refuses other projects' tokens", async () => {
    const key = `ci-run-${Math.random()}`;
    const first = await ok(
      await call("POST", "/machines", { token, body: { name: "api-otter" }, headers: { "idempotency-key": key } }),
      apiMachineSchema,
      201,
    );
    const retried = await ok(
      await call("POST", "/machines", { token, body: { name: "api-otter" }, headers: { "idempotency-key": key } }),
      apiMachineSchema,
      200,
    );
    expect(retried.id).toBe(first.id);
    const listed = await ok(await call("GET", "/machines", { token }), apiMachineListSchema);
    expect(listed.machines.map((m) => m.id)).toEqual([first.id]);

    // Running: by name as well as id.
    const deadline = Date.now() + 60_000;
    let machine = first;
    while (machine.state !== "running" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      machine = await ok(await call("GET", "/machines/api-otter", { token }), apiMachineSchema);
    }
    expect(machine).toMatchObject({ id: first.id, name: "api-otter", state: "running", type: "local-docker" });

    // Another project's token sees nothing of this machine, on every machine route.
    const leaks: string[] = [];
    for (const operation of operations.filter((o) => o.path.startsWith("/machines/{machine}"))) {
      const response = await call(operation.method, concrete(operation.path, first.id), {
        token: foreignToken,
        ...(operation.hasBody ? { body: {} } : {}),
      });
      const body = apiErrorSchema.safeParse(await response.json().catch(() => null));
      if (response.status !== 404 || !body.success)
        leaks.push(`${operation.method} ${operation.path}: ${response.status}`);
    }
    expect(leaks).toEqual([]);

    const buffered = await ok(
      await call("POST", `/machines/${first.id}/exec`, {
        token,
        body: { command: "sh", args: ["-c", "echo out; echo err >&2; exit 3"] },
      }),
      execResultSchema,
    );
    expect(buffered).toMatchObject({ exitCode: 3, stdout: "out\n", stderr: "err\n" });
    const streamed = await call("POST", "/machines/api-otter/exec", {
      token,
      body: { command: "sh", args: ["-c", "echo a; sleep 0.2; echo b"], stream: true },
    });
    expect(streamed.headers.get("content-type")).toMatch(/ndjson/);
    const events = (await streamed.text())
      .trim()
      .split("\n")
      .map((line) => execStreamEventSchema.parse(JSON.parse(line)));
    expect(
      events
        .filter((e) => e.type === "stdout")
        .map((e) => (e as { data: string }).data)
        .join(""),
    ).toBe("a\nb\n");
    expect(events.at(-1)).toMatchObject({ type: "exit", exitCode: 0 });

    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));
    await ok(
      await call("PUT", `/machines/${first.id}/files/write`, {
        token,
        body: { path: "data/blob.bin", content: bytes.toString("base64"), encoding: "base64" },
      }),
      { parse: (value: unknown) => value },
    );
    const read = await ok(
      await call("GET", `/machines/${first.id}/files/read?path=data/blob.bin&encoding=base64`, { token }),
      fileReadResponseSchema,
    );
    expect(Buffer.from(read.content, "base64").equals(bytes)).toBe(true);
    const dir = await ok(
      await call("GET", `/machines/${first.id}/files/list?path=data`, { token }),
      filesListResponseSchema,
    );
    expect(dir.entries.map((entry) => entry.name)).toContain("blob.bin");

    const preview = await ok(await call("GET", `/machines/${first.id}/preview?port=5173`, { token }), apiPreviewSchema);
    expect(preview).toEqual({ port: 5173, url: expect.stringContaining(`5173--${first.id.replace("_", "-")}`) });
    await ok(await call("POST", `/machines/${first.id}/stop`, { token }), apiMachineSchema);
    const history = await ok(await call("GET", `/machines/${first.id}/events`, { token }), apiMachineEventListSchema);
    expect(history.events.map((event) => event.toState)).toContain("running");

    expect(
      await ok(await call("DELETE", `/machines/${first.id}`, { token }), {
        parse: (v: unknown) => v as { id: string },
      }),
    ).toEqual({ id: first.id });
    const gone = await call("GET", `/machines/${first.id}/exec`, { token });
    expect([404, 405]).toContain(gone.status);
  }, 180_000);

  it("holds GET /machines/{machine}?waitFor= until the machine gets there (one request from create to running), ends a wait after waitMs, allows 32 waits per token, and refuses a malformed wait naming its field", async () => {
    const created = await ok(
      await call("POST", "/machines", { token, body: { name: "api-waiter" } }),
      apiMachineSchema,
      201,
    );
    expect(created.state).not.toBe("running");
    // One request, held while the machine boots.
    const waited = await ok(
      await call("GET", `/machines/${created.id}?waitFor=running&waitMs=60000`, { token }),
      apiMachineSchema,
    );
    expect(waited).toMatchObject({ id: created.id, state: "running" });

    // A state it does not reach: the answer comes after waitMs, with the machine as it is.
    let started = Date.now();
    const notYet = await ok(
      await call("GET", `/machines/api-waiter?waitFor=stopped&waitMs=400`, { token }),
      apiMachineSchema,
    );
    expect(notYet.state).toBe("running");
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);

    // 32 waits at once per token; the 33rd is answered at once instead of held.
    const waits = t.os2.deps.services.machineWaits;
    const held = Array.from({ length: 32 }, () =>
      call("GET", `/machines/${created.id}?waitFor=stopped&waitMs=60000`, { token }),
    );
    for (let i = 0; i < 200 && waits.open < 32; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(waits.open).toBe(32);
    started = Date.now();
    const beyond = await ok(
      await call("GET", `/machines/${created.id}?waitFor=stopped&waitMs=20000`, { token }),
      apiMachineSchema,
    );
    expect(beyond.state).toBe("running");
    expect(Date.now() - started).toBeLessThan(10_000);
    // Stopping the machine answers every held wait, with the state it waited for.
    await ok(await call("POST", `/machines/${created.id}/stop`, { token }), apiMachineSchema);
    const answers = await Promise.all(held.map(async (response) => ok(await response, apiMachineSchema)));
    expect(answers.map((answer) => answer.state)).toEqual(Array.from({ length: 32 }, () => "stopped"));
    expect(waits.open).toBe(0);

    for (const [query, field] of [
      ["waitFor=sleeping", "waitFor"],
      ["waitFor=running&waitMs=60001", "waitMs"],
      ["waitFor=running&waitMs=soon", "waitMs"],
      ["waitMs=100", "waitMs"],
    ] as const) {
      const response = await call("GET", `/machines/${created.id}?${query}`, { token });
      const body = apiErrorSchema.parse(await response.json());
      expect({ query, status: response.status, field: body.field }).toEqual({ query, status: 400, field });
    }
    await ok(await call("DELETE", `/machines/${created.id}`, { token }), { parse: (v: unknown) => v });
  }, 180_000);

  it("manages env vars without ever answering a value, and names the project", async () => {
    const project = await ok(await call("GET", "/project", { token }), apiProjectSchema);
    expect(project.slug).toBe("machines");
    const set = await ok(
      await call("PUT", "/env-vars/API_TOKEN", { token, body: { value: "s3cret" } }),
      apiEnvVarSchema,
    );
    const listed = await ok(await call("GET", "/env-vars", { token }), apiEnvVarListSchema);
    expect(listed.envVars).toEqual([{ id: set.id, key: "API_TOKEN", machineId: null }]);
    expect(JSON.stringify(listed)).not.toContain("s3cret");
    const bad = await call("PUT", "/env-vars/lower-case", { token, body: { value: "x" } });
    const error = apiErrorSchema.parse(await bad.json());
    expect(bad.status).toBe(400);
    expect(error).toMatchObject({ error: "bad_request", field: "key" });
    await ok(await call("DELETE", `/env-vars/${set.id}`, { token }), { parse: (v: unknown) => v });
    expect((await ok(await call("GET", "/env-vars", { token }), apiEnvVarListSchema)).envVars).toEqual([]);
  });

  it("answers malformed bodies on every route that takes one with a 4xx in the error shape", async () => {
    const bodies = [
      "{not json",
      "[]",
      '"text"',
      JSON.stringify({ name: 5, type: "nope", value: 7, command: [], path: 1 }),
    ];
    const wrong: string[] = [];
    for (const operation of operations.filter((o) => o.hasBody)) {
      for (const raw of bodies) {
        const response = await call(operation.method, concrete(operation.path), { token, raw });
        const body = apiErrorSchema.safeParse(await response.json().catch(() => null));
        if (response.status < 400 || response.status >= 500 || !body.success) {
          wrong.push(`${operation.method} ${operation.path} ← ${raw}: ${response.status}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
