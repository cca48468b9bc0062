/**
 * What the machine specs share: a member signed in through the real UI, tRPC calls made as that member
 * (the browser context's cookies, the dashboard's Origin), a real local-docker machine, and shell access to
 * its container through the Docker Engine API (tcp://127.0.0.1:2375), found by the `os2.machine-id` label
 * os2 puts on every container.
 *
 * `ownedMachine` returns a `remove` that deletes the machine through the API, waits until Docker holds no
 * container for it, and force-removes what is left if the API could not; specs call it in `finally`.
 */
import { request as httpRequest } from "node:http";
import { PassThrough } from "node:stream";

import { expect, type Page } from "@playwright/test";
import Dockerode from "dockerode";

import { E2E_API_URL, E2E_BASE_URL } from "./e2e-server.ts";

export const TEST_CODE = "424242";
export const docker = new Dockerode({ host: "127.0.0.1", port: 2375 });
const RUNNING_TIMEOUT_MS = 60_000;

export type Scope = { organizationSlug: string; projectSlug: string };

export async function signIn(page: Page, email: string) {
  await page.goto("/login");
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByRole("button", { name: "Send code" }).click();
  await page.getByLabel("Code", { exact: true }).fill(TEST_CODE);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/new-organization$/);
}

type TrpcEnvelope = { result?: { data?: { json?: unknown } }; error?: { json?: { message?: string } } };

/**
 * tRPC as the member signed in on `page`: the browser context's cookies for the dashboard at `origin`,
 * superjson-encoded like the SPA's client, and on mutations that Origin, as the SPA's requests carry it.
 * Requests go from Node to `connect` with the dashboard's `Host`, since Node cannot resolve the names
 * Chromium is told to map (`*.localhost`, `--host-resolver-rules`).
 */
export class DashboardApi {
  constructor(
    readonly page: Page,
    readonly origin: string = E2E_BASE_URL,
    readonly connect: string = E2E_API_URL,
  ) {}

  query<T>(path: string, input: unknown): Promise<T> {
    const query = encodeURIComponent(JSON.stringify({ json: input }));
    return this.call<T>("GET", `/api/trpc/${path}?input=${query}`, path);
  }

  mutation<T>(path: string, input: unknown): Promise<T> {
    return this.call<T>("POST", `/api/trpc/${path}`, path, JSON.stringify({ json: input }));
  }

  private async call<T>(method: string, target: string, path: string, body?: string): Promise<T> {
    const cookies = await this.page.context().cookies(this.origin);
    const headers: Record<string, string> = {
      host: new URL(this.origin).host,
      cookie: cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join("; "),
    };
    if (body !== undefined) Object.assign(headers, { origin: this.origin, "content-type": "application/json" });
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = httpRequest(new URL(target, this.connect), { method, headers, timeout: 60_000 }, (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
        response.on("error", reject);
      });
      request.on("timeout", () => request.destroy(new Error(`${method} ${path} timed out`)));
      request.on("error", reject);
      request.end(body);
    });
    const parsed = JSON.parse(answer.text) as TrpcEnvelope;
    expect(answer.status, `${path}: ${JSON.stringify(parsed.error?.json?.message ?? parsed)}`).toBe(200);
    return parsed.result?.data?.json as T;
  }
}

/** An organization and a project of the signed-in member, made through the API (the UI has its own spec). */
export async function createProject(api: DashboardApi, suffix: string): Promise<Scope> {
  const organization = await api.mutation<{ slug: string }>("organization.create", {
    name: "Preview Labs",
    slug: `preview-labs-${suffix}`,
  });
  const project = await api.mutation<{ slug: string }>("project.create", {
    organizationSlug: organization.slug,
    name: "Previews",
  });
  return { organizationSlug: organization.slug, projectSlug: project.slug };
}

type MachineRow = { id: string; observedState: string; lastError: string | null };

export type OwnedMachine = {
  id: string;
  containerId: string;
  /** Deletes the machine (API first, Docker as the fallback) and checks that no container is left. */
  remove(): Promise<void>;
};

/** Creates a local-docker machine, waits until it is `running`, and finds its container. */
export async function ownedMachine(api: DashboardApi, scope: Scope, name: string): Promise<OwnedMachine> {
  const created = await api.mutation<MachineRow>("machine.create", { ...scope, name, type: "local-docker" });
  const id = created.id;
  const remove = () => removeMachine(api, scope, id);
  try {
    await expect
      .poll(
        async () => {
          const row = await api.query<MachineRow>("machine.byId", { ...scope, machineId: id });
          return `${row.observedState}${row.lastError ? ` (${row.lastError})` : ""}`;
        },
        { timeout: RUNNING_TIMEOUT_MS, intervals: [100] },
      )
      .toBe("running");
    const [container] = await containersOf(id);
    if (!container) throw new Error(`Docker holds no container labelled os2.machine-id=${id}`);
    return { id, containerId: container.Id, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

export async function containersOf(machineId: string) {
  return docker.listContainers({ all: true, filters: JSON.stringify({ label: [`os2.machine-id=${machineId}`] }) });
}

async function removeMachine(api: DashboardApi, scope: Scope, machineId: string) {
  const deleted = await api
    .mutation("machine.delete", { ...scope, machineId })
    .then(() => true)
    .catch(() => false);
  if (deleted) {
    const gone = await expect
      .poll(async () => (await containersOf(machineId)).length, { timeout: 30_000 })
      .toBe(0)
      .then(() => true)
      .catch(() => false);
    if (gone) return;
  }
  console.warn(`machine ${machineId}: the API did not remove its container; removing it through Docker`);
  for (const container of await containersOf(machineId)) {
    await docker
      .getContainer(container.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  }
  expect(await containersOf(machineId), `containers left for ${machineId}`).toEqual([]);
}

export type ExecResult = { exitCode: number; stdout: string; stderr: string };

/** Runs a command in the container (as `docker exec` does) and waits for it. */
export async function execIn(containerId: string, cmd: string[]): Promise<ExecResult> {
  const exec = await docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  stdout.on("data", (chunk: Buffer) => chunks.stdout.push(chunk));
  stderr.on("data", (chunk: Buffer) => chunks.stderr.push(chunk));
  docker.modem.demuxStream(stream, stdout, stderr);
  await new Promise<void>((resolve, reject) => {
    stream.on("end", resolve);
    stream.on("close", resolve);
    stream.on("error", reject);
  });
  const { ExitCode } = await exec.inspect();
  return {
    exitCode: ExitCode ?? -1,
    stdout: Buffer.concat(chunks.stdout).toString("utf8"),
    stderr: Buffer.concat(chunks.stderr).toString("utf8"),
  };
}

/** Like execIn, and fails the test (with the output) unless the command exits 0. */
export async function execOk(containerId: string, cmd: string[]): Promise<string> {
  const result = await execIn(containerId, cmd);
  expect(result.exitCode, `${cmd.join(" ")}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

/** Starts a command in the container and returns at once (`docker exec -d`). */
export async function execDetached(containerId: string, cmd: string[]): Promise<void> {
  const exec = await docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: false, AttachStderr: false });
  // Docker answers at once; the (empty) answer must still be read, or its socket stays open.
  (await exec.start({ Detach: true })).resume();
}

/** Writes a file inside the container (parents created), byte for byte. */
export async function writeFileIn(containerId: string, path: string, content: string): Promise<void> {
  const encoded = Buffer.from(content, "utf8").toString("base64");
  await execOk(containerId, [
    "sh",
    "-c",
    'mkdir -p "$(dirname "$1")" && printf %s "$2" | base64 -d > "$1"',
    "sh",
    path,
    encoded,
  ]);
}
