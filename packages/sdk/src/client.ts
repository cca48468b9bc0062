import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";

import {
  type Agent,
  agentDeleteResponseSchema,
  agentListResponseSchema,
  agentOutputResponseSchema,
  agentSchema,
  apiEnvVarListSchema,
  apiEnvVarSchema,
  type ApiMachine,
  apiMachineEventListSchema,
  apiMachineListSchema,
  apiMachineSchema,
  apiPreviewSchema,
  apiProjectSchema,
  type ExecResult,
  execResultSchema,
  execStreamEventSchema,
  fileReadResponseSchema,
  filesListResponseSchema,
  fileWriteResponseSchema,
  type Harness,
  IDEMPOTENCY_KEY_HEADER,
  logsListResponseSchema,
  logsReadResponseSchema,
  type MachineAction,
  type MachineState,
  type MachineType,
  portsResponseSchema,
  tmuxListResponseSchema,
} from "@os2/protocol";
import { z } from "zod";

import { MachineFailedError, Os2ProtocolError, Os2TimeoutError } from "./errors";
import { HttpClient, type HttpOptions, parseAnswer, segment } from "./http";
import { iterateBody, parseNdjson } from "./ndjson";
import { emptyCursor, nextOutput } from "./screen-diff";
import { Terminal, type TerminalOptions } from "./terminal";

export type Os2Options = HttpOptions;

const deleteAnswerSchema = z.object({ id: z.string() });
/** Longer commands stream (see `Machine.exec`). */
const LONG_EXEC_MS = 240_000;

/**
 * The os2 API client. `token` is a project access token (`pat_…`); it names its project, so every call is
 * within that project.
 *
 * ```ts
 * const os2 = new Os2({ baseUrl: "http://localhost:3001", token: process.env.OS2_TOKEN! });
 * const machine = await os2.machines.create({ name: "scratch", wait: true });
 * const { stdout } = await machine.sh("uname -a");
 * ```
 */
export class Os2 {
  readonly http: HttpClient;
  readonly machines: Machines;
  readonly envVars: EnvVars;

  constructor(options: Os2Options) {
    this.http = new HttpClient(options);
    this.machines = new Machines(this.http);
    this.envVars = new EnvVars(this.http);
  }

  /** The token's project (and its organization). */
  project(options: { signal?: AbortSignal } = {}) {
    return this.http.json(
      { method: "GET", path: "/project", idempotent: true, signal: options.signal },
      apiProjectSchema,
    );
  }
}

export type CreateMachineOptions = {
  name?: string;
  type?: MachineType;
  limits?: { cpus?: number; memoryMb?: number; pids?: number };
  /** Wait until the machine is running (rejects with `MachineFailedError` if it goes to error). */
  wait?: boolean;
  /** Bounds the wait; 5 minutes when not given. */
  timeoutMs?: number;
  /** Makes retries of this create answer the same machine; one is generated when not given. */
  idempotencyKey?: string;
  signal?: AbortSignal;
};

export type ListMachinesOptions = {
  includeArchived?: boolean;
  /** Machines per page, 1 to 200 (the server's default is 50). */
  limit?: number;
  /** The previous page's `nextCursor`; none for the first page. */
  cursor?: string | null;
  signal?: AbortSignal;
};

/** One page of machines; `nextCursor` fetches the next (null: this was the last). */
export type MachinePage = { machines: Machine[]; nextCursor: string | null };

export type WaitOptions = { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal };
/** How long one long poll of waitUntil asks the server to hold its answer: below common proxies' 30–60 s. */
const LONG_POLL_MS = 20_000;

const RETRYABLE_ACTIONS: ReadonlySet<MachineAction> = new Set(["start", "stop", "archive", "unarchive"]);

/** The project's machines. Every `ref` is a machine id (`mach_…`) or name. */
export class Machines {
  constructor(private readonly http: HttpClient) {}

  async create(options: CreateMachineOptions = {}): Promise<Machine> {
    const { wait, timeoutMs, idempotencyKey, signal, ...body } = options;
    const data = await this.http.json(
      {
        method: "POST",
        path: "/machines",
        body,
        // The key is what makes a retried create safe: the server answers the machine the first one made.
        headers: { [IDEMPOTENCY_KEY_HEADER]: idempotencyKey ?? `sdk-${randomUUID()}` },
        idempotent: true,
        signal,
      },
      apiMachineSchema,
    );
    const machine = new Machine(this.http, data);
    // A machine claimed from the warm pool is running when create answers: no poll, no extra round trip.
    if (wait && data.state !== "running")
      await machine.waitUntil("running", { ...(timeoutMs ? { timeoutMs } : {}), ...(signal ? { signal } : {}) });
    return machine;
  }

  /**
   * One page of the project's machines, newest first: `limit` of them (default 50, at most 200). Pass the
   * answer's `nextCursor` as `cursor` for the next page; it is null on the last. `iterate` and `listAll`
   * walk every page.
   */
  async list(options: ListMachinesOptions = {}): Promise<MachinePage> {
    const answer = await this.http.json(
      {
        method: "GET",
        path: "/machines",
        query: {
          includeArchived: options.includeArchived ?? false,
          limit: options.limit,
          cursor: options.cursor ?? undefined,
        },
        idempotent: true,
        signal: options.signal,
      },
      apiMachineListSchema,
    );
    return { machines: answer.machines.map((data) => new Machine(this.http, data)), nextCursor: answer.nextCursor };
  }

  /**
   * Every machine of the project, newest first, fetched a page at a time as the loop asks for more. A walk
   * sees each machine that existed when it began exactly once, even while machines are created.
   *
   * ```ts
   * for await (const machine of os2.machines.iterate()) console.log(machine.name, machine.state);
   * ```
   */
  async *iterate(options: Omit<ListMachinesOptions, "cursor"> = {}): AsyncGenerator<Machine, void, undefined> {
    let cursor: string | null = null;
    do {
      const page: MachinePage = await this.list({ ...options, cursor });
      yield* page.machines;
      cursor = page.nextCursor;
    } while (cursor);
  }

  /** Every machine of the project in one array (`iterate`, collected). */
  async listAll(options: Omit<ListMachinesOptions, "cursor"> = {}): Promise<Machine[]> {
    const machines: Machine[] = [];
    for await (const machine of this.iterate(options)) machines.push(machine);
    return machines;
  }

  async get(ref: string, options: { signal?: AbortSignal } = {}): Promise<Machine> {
    return new Machine(this.http, await this.fetchData(ref, options.signal));
  }

  /** @internal the raw record; with `wait`, held by the server until the machine is in that state (or error) */
  fetchData(ref: string, signal?: AbortSignal, wait?: { state: MachineState; ms: number }): Promise<ApiMachine> {
    return this.http.json(
      {
        method: "GET",
        path: `/machines/${segment(ref)}`,
        ...(wait ? { query: { waitFor: wait.state, waitMs: Math.round(wait.ms) } } : {}),
        idempotent: true,
        signal,
      },
      apiMachineSchema,
    );
  }

  start = (ref: string, options?: { signal?: AbortSignal }) => this.action(ref, "start", options);
  stop = (ref: string, options?: { signal?: AbortSignal }) => this.action(ref, "stop", options);
  restart = (ref: string, options?: { signal?: AbortSignal }) => this.action(ref, "restart", options);
  archive = (ref: string, options?: { signal?: AbortSignal }) => this.action(ref, "archive", options);
  unarchive = (ref: string, options?: { signal?: AbortSignal }) => this.action(ref, "unarchive", options);
  recreate = (ref: string, options?: { signal?: AbortSignal }) => this.action(ref, "recreate", options);

  async action(ref: string, action: MachineAction, options: { signal?: AbortSignal } = {}): Promise<Machine> {
    const data = await this.http.json(
      {
        method: "POST",
        path: `/machines/${segment(ref)}/${action}`,
        // restart and recreate do something each time they are sent; the others name a state to reach.
        idempotent: RETRYABLE_ACTIONS.has(action),
        signal: options.signal,
      },
      apiMachineSchema,
    );
    return new Machine(this.http, data);
  }

  /** `force`: forget a machine whose provider cannot remove it (stuck deleting). */
  delete(ref: string, options: { force?: boolean; signal?: AbortSignal } = {}): Promise<{ id: string }> {
    return this.http.json(
      {
        method: "DELETE",
        path: `/machines/${segment(ref)}`,
        query: { force: options.force ?? false },
        idempotent: true,
        signal: options.signal,
      },
      deleteAnswerSchema,
    );
  }

  /**
   * Waits until the machine is in `state`. Each request is a long poll (`waitFor`): the server answers the
   * moment the machine gets there, or after up to 20 s, and the wait asks again. A server that answers at
   * once instead (an older os2, or this token at its 32 waits) is polled: every 50 ms at first, then half as
   * often again each time, up to `intervalMs` (1 s). Rejects with `MachineFailedError` when it goes to
   * `error` instead, and `Os2TimeoutError` after `timeoutMs` (5 minutes by default).
   */
  async waitUntil(ref: string, state: MachineState, options: WaitOptions = {}): Promise<Machine> {
    const timeoutMs = options.timeoutMs ?? 300_000;
    const deadline = Date.now() + timeoutMs;
    let interval = 50;
    for (;;) {
      const asked = Date.now();
      const holdMs = Math.min(LONG_POLL_MS, Math.max(0, deadline - asked));
      const data = await this.fetchData(ref, options.signal, { state, ms: holdMs });
      if (data.state === state) return new Machine(this.http, data);
      if (data.state === "error") throw new MachineFailedError(data, state);
      if (Date.now() >= deadline) {
        throw new Os2TimeoutError(
          `machine ${data.name} (${data.id}) is ${data.state}, not ${state}, after ${Math.round(timeoutMs / 1000)} s`,
        );
      }
      // Held for (about) as long as asked: the server waited; ask again at once.
      if (Date.now() - asked >= holdMs * 0.9) continue;
      await delay(Math.min(interval, Math.max(0, deadline - Date.now())), undefined, { signal: options.signal });
      interval = Math.min(options.intervalMs ?? 1_000, interval * 1.5);
    }
  }

  events(ref: string, options: { signal?: AbortSignal } = {}) {
    return this.http
      .json(
        { method: "GET", path: `/machines/${segment(ref)}/events`, idempotent: true, signal: options.signal },
        apiMachineEventListSchema,
      )
      .then((answer) => answer.events);
  }

  /** The URL at which the machine's `port` is served (a preview of a dev server, say). */
  previewUrl(ref: string, port: number, options: { signal?: AbortSignal } = {}): Promise<string> {
    return this.http
      .json(
        {
          method: "GET",
          path: `/machines/${segment(ref)}/preview`,
          query: { port },
          idempotent: true,
          signal: options.signal,
        },
        apiPreviewSchema,
      )
      .then((answer) => answer.url);
  }
}

export type ExecOptions = {
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** Written to the command's stdin, which is then closed. Bytes go as they are (base64 on the wire). */
  stdin?: string | Uint8Array;
  /** The daemon kills the command after this (exit code 124, `timedOut`). */
  timeoutMs?: number;
  /** Given either of these, output streams as it is printed; else it comes once the command exits. */
  onStdout?: (data: string) => void;
  onStderr?: (data: string) => void;
  /** Aborting cancels the request (and with it the command). */
  signal?: AbortSignal;
};

export type ExecOutput = {
  /** 127: no such binary; 126: not executable; 128+n: killed by signal n; 124: timed out. */
  exitCode: number;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
  /** Buffered runs only: output went over the daemon's cap and was cut. */
  truncated: boolean;
};

/** A handle on one machine. `data` is the record as last fetched; `refresh()` fetches it again. */
export class Machine {
  readonly files: MachineFiles;
  readonly agents: MachineAgents;
  readonly logs: MachineLogs;
  private readonly machines: Machines;

  constructor(
    private readonly http: HttpClient,
    public data: ApiMachine,
  ) {
    this.machines = new Machines(http);
    this.files = new MachineFiles(http, this.path);
    this.agents = new MachineAgents(http, this.path);
    this.logs = new MachineLogs(http, this.path);
  }

  get id() {
    return this.data.id;
  }
  get name() {
    return this.data.name;
  }
  get state() {
    return this.data.state;
  }
  get type() {
    return this.data.type;
  }
  /** Requests go by id: a rename cannot make a handle reach another machine. */
  private get path() {
    return `/machines/${segment(this.data.id)}`;
  }

  async refresh(options: { signal?: AbortSignal } = {}): Promise<this> {
    this.data = await this.machines.fetchData(this.id, options.signal);
    return this;
  }

  private async act(action: MachineAction, options?: { signal?: AbortSignal }): Promise<this> {
    this.data = (await this.machines.action(this.id, action, options)).data;
    return this;
  }
  start = (options?: { signal?: AbortSignal }) => this.act("start", options);
  stop = (options?: { signal?: AbortSignal }) => this.act("stop", options);
  restart = (options?: { signal?: AbortSignal }) => this.act("restart", options);
  archive = (options?: { signal?: AbortSignal }) => this.act("archive", options);
  unarchive = (options?: { signal?: AbortSignal }) => this.act("unarchive", options);
  recreate = (options?: { signal?: AbortSignal }) => this.act("recreate", options);
  delete = (options?: { force?: boolean; signal?: AbortSignal }) => this.machines.delete(this.id, options);

  async waitUntil(state: MachineState, options?: WaitOptions): Promise<this> {
    this.data = (await this.machines.waitUntil(this.id, state, options)).data;
    return this;
  }

  events = (options?: { signal?: AbortSignal }) => this.machines.events(this.id, options);
  previewUrl = (port: number, options?: { signal?: AbortSignal }) => this.machines.previewUrl(this.id, port, options);

  /** The TCP ports something listens on inside the machine (the daemon's own, DAEMON_PORT, included). */
  async ports(options: { signal?: AbortSignal } = {}) {
    const answer = await this.http.json(
      { method: "GET", path: `${this.path}/ports`, idempotent: true, signal: options.signal },
      portsResponseSchema,
    );
    return answer.ports;
  }

  /** The machine's tmux sessions: terminals' and agents'. */
  async sessions(options: { signal?: AbortSignal } = {}) {
    const answer = await this.http.json(
      { method: "GET", path: `${this.path}/tmux/sessions`, idempotent: true, signal: options.signal },
      tmuxListResponseSchema,
    );
    return answer.sessions;
  }

  /** Runs `command` with `args` directly, no shell (see `sh` for one). */
  async exec(command: string, options: ExecOptions = {}): Promise<ExecOutput> {
    const { onStdout, onStderr, signal, stdin, ...rest } = options;
    // A command allowed to run longer than fetch waits for a response head (undici: 300 s) streams too:
    // the stream's head and keepalive lines arrive at once and while it is quiet.
    const stream = onStdout !== undefined || onStderr !== undefined || (rest.timeoutMs ?? 0) > LONG_EXEC_MS;
    const request = { method: "POST" as const, path: `${this.path}/exec`, idempotent: false, signal };
    const body = {
      command,
      ...rest,
      stream,
      ...(stdin === undefined
        ? {}
        : typeof stdin === "string"
          ? { stdin }
          : { stdin: Buffer.from(stdin).toString("base64"), stdinEncoding: "base64" as const }),
    };
    if (!stream) {
      const result: ExecResult = await this.http.json({ ...request, body }, execResultSchema);
      return result;
    }
    const response = await this.http.send({ ...request, body });
    if (!response.body) throw new Os2ProtocolError(response.status, "exec answered without a body");
    let stdout = "";
    let stderr = "";
    for await (const raw of parseNdjson(iterateBody(response.body))) {
      const event = parseAnswer(execStreamEventSchema, raw, "exec stream", response.status);
      if (event.type === "stdout") {
        stdout += event.data;
        onStdout?.(event.data);
      } else if (event.type === "stderr") {
        stderr += event.data;
        onStderr?.(event.data);
      } else {
        const { type: _type, ...exit } = event;
        return { ...exit, stdout, stderr, truncated: false };
      }
    }
    throw new Os2ProtocolError(response.status, "the exec stream ended before the command's exit line");
  }

  /** Runs a shell command line (pipes, globs, `&&`) with `bash -lc`. */
  sh(script: string, options: Omit<ExecOptions, "args"> = {}): Promise<ExecOutput> {
    return this.exec("bash", { ...options, args: ["-lc", script] });
  }

  /** Attaches a terminal to the tmux session `session` ("main" when not given). */
  terminal(options: TerminalOptions = {}): Promise<Terminal> {
    const url = new URL(
      this.http.url(`${this.path}/terminal`, {
        cols: options.cols ?? 80,
        rows: options.rows ?? 24,
        tmuxSession: options.session,
      }),
    );
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return Terminal.open(url.toString(), this.http.token, options.signal);
  }
}

type Signal = { signal?: AbortSignal };

/** Files inside a machine. Relative paths are relative to its workspace directory. */
export class MachineFiles {
  constructor(
    private readonly http: HttpClient,
    private readonly base: string,
  ) {}

  /** A text file (utf8), or with `{ encoding: "base64" }` its bytes. */
  read(path: string, options?: { encoding?: "utf8" } & Signal): Promise<string>;
  read(path: string, options: { encoding: "base64" } & Signal): Promise<Uint8Array>;
  async read(path: string, options: { encoding?: "utf8" | "base64" } & Signal = {}): Promise<string | Uint8Array> {
    const encoding = options.encoding ?? "utf8";
    const answer = await this.http.json(
      {
        method: "GET",
        path: `${this.base}/files/read`,
        query: { path, encoding },
        idempotent: true,
        signal: options.signal,
      },
      fileReadResponseSchema,
    );
    return encoding === "base64" ? new Uint8Array(Buffer.from(answer.content, "base64")) : answer.content;
  }

  readBytes(path: string, options: Signal = {}): Promise<Uint8Array> {
    return this.read(path, { ...options, encoding: "base64" });
  }

  /** Writes a string as utf8 or bytes as they are (sent base64); parent directories are created. */
  write(path: string, content: string | Uint8Array, options: { mode?: number } & Signal = {}) {
    const body =
      typeof content === "string"
        ? { path, content, encoding: "utf8" as const }
        : { path, content: Buffer.from(content).toString("base64"), encoding: "base64" as const };
    return this.http.json(
      {
        method: "PUT",
        path: `${this.base}/files/write`,
        body: { ...body, ...(options.mode === undefined ? {} : { mode: options.mode }) },
        // Writing the same content twice leaves the same file.
        idempotent: true,
        signal: options.signal,
      },
      fileWriteResponseSchema,
    );
  }

  async list(path: string, options: Signal = {}) {
    const answer = await this.http.json(
      { method: "GET", path: `${this.base}/files/list`, query: { path }, idempotent: true, signal: options.signal },
      filesListResponseSchema,
    );
    return answer.entries;
  }
}

export type StartAgentOptions = {
  harness: Harness;
  prompt?: string;
  name?: string;
  cwd?: string;
  env?: Record<string, string>;
  signal?: AbortSignal;
};

/** Coding agents (harnesses in tmux sessions) inside a machine. */
export class MachineAgents {
  constructor(
    private readonly http: HttpClient,
    private readonly base: string,
  ) {}

  async start(options: StartAgentOptions): Promise<AgentHandle> {
    const { signal, ...body } = options;
    const data = await this.http.json(
      { method: "POST", path: `${this.base}/agents`, body: { ...body, start: true }, idempotent: false, signal },
      agentSchema,
    );
    return new AgentHandle(this.http, this.base, data);
  }

  async list(options: Signal = {}): Promise<AgentHandle[]> {
    const answer = await this.http.json(
      { method: "GET", path: `${this.base}/agents`, idempotent: true, signal: options.signal },
      agentListResponseSchema,
    );
    return answer.agents.map((data) => new AgentHandle(this.http, this.base, data));
  }

  async get(id: string, options: Signal = {}): Promise<AgentHandle> {
    return new AgentHandle(this.http, this.base, await fetchAgent(this.http, this.base, id, options.signal));
  }
}

function fetchAgent(http: HttpClient, base: string, id: string, signal?: AbortSignal) {
  return http.json({ method: "GET", path: `${base}/agents/${segment(id)}`, idempotent: true, signal }, agentSchema);
}

export class AgentHandle {
  constructor(
    private readonly http: HttpClient,
    private readonly base: string,
    public data: Agent,
  ) {}

  get id() {
    return this.data.id;
  }
  get name() {
    return this.data.name;
  }
  get status() {
    return this.data.status;
  }
  private get path() {
    return `${this.base}/agents/${segment(this.data.id)}`;
  }

  async refresh(options: Signal = {}): Promise<this> {
    this.data = await fetchAgent(this.http, this.base, this.id, options.signal);
    return this;
  }

  /** The pane's last `lines` lines (screen plus scrollback), as text. */
  async output(options: { lines?: number } & Signal = {}): Promise<string> {
    const answer = await this.http.json(
      {
        method: "GET",
        path: `${this.path}/output`,
        query: { lines: options.lines },
        idempotent: true,
        signal: options.signal,
      },
      agentOutputResponseSchema,
    );
    return answer.text;
  }

  /**
   * New output as it appears, by polling the pane every `intervalMs` and yielding lines not seen before;
   * ends after the agent stops running (with its last lines) or when `signal` aborts. A full-screen program
   * that redraws in place shows up as repeated screens: this follows logs, not a TUI.
   */
  async *follow(options: { intervalMs?: number; lines?: number } & Signal = {}): AsyncGenerator<string> {
    const lines = options.lines ?? 2_000;
    let cursor = emptyCursor();
    for (;;) {
      const [text] = await Promise.all([
        this.output({ lines, ...(options.signal ? { signal: options.signal } : {}) }),
        this.refresh(options),
      ]);
      // `waiting` (for the user's input) is still alive: only an ended agent ends the follow.
      const final = this.data.status === "exited" || this.data.status === "stopped";
      const next = nextOutput(cursor, text, final);
      cursor = next.cursor;
      if (next.text) yield next.text;
      if (final) return;
      await delay(options.intervalMs ?? 1_000, undefined, { signal: options.signal });
    }
  }

  private async act(action: "start" | "stop", options: Signal = {}): Promise<this> {
    this.data = await this.http.json(
      { method: "POST", path: `${this.path}/${action}`, idempotent: true, signal: options.signal },
      agentSchema,
    );
    return this;
  }
  start = (options?: Signal) => this.act("start", options);
  stop = (options?: Signal) => this.act("stop", options);

  delete(options: Signal = {}) {
    return this.http.json(
      { method: "DELETE", path: this.path, idempotent: true, signal: options.signal },
      agentDeleteResponseSchema,
    );
  }
}

/** The machine's service logs (s6-log). */
export class MachineLogs {
  constructor(
    private readonly http: HttpClient,
    private readonly base: string,
  ) {}

  async services(options: Signal = {}) {
    const answer = await this.http.json(
      { method: "GET", path: `${this.base}/logs`, idempotent: true, signal: options.signal },
      logsListResponseSchema,
    );
    return answer.services;
  }

  async read(service: string, options: { lines?: number } & Signal = {}) {
    const answer = await this.http.json(
      {
        method: "GET",
        path: `${this.base}/logs/${segment(service)}`,
        query: { lines: options.lines },
        idempotent: true,
        signal: options.signal,
      },
      logsReadResponseSchema,
    );
    return answer.lines;
  }
}

/** Project environment variables (values are write-only). */
export class EnvVars {
  constructor(private readonly http: HttpClient) {}

  async list(options: Signal = {}) {
    const answer = await this.http.json(
      { method: "GET", path: "/env-vars", idempotent: true, signal: options.signal },
      apiEnvVarListSchema,
    );
    return answer.envVars;
  }

  /** Sets `key` project-wide, or for one machine with `machineId`. */
  set(key: string, value: string, options: { machineId?: string | null } & Signal = {}) {
    return this.http.json(
      {
        method: "PUT",
        path: `/env-vars/${segment(key)}`,
        body: { value, machineId: options.machineId ?? null },
        idempotent: true,
        signal: options.signal,
      },
      apiEnvVarSchema,
    );
  }

  delete(id: string, options: Signal = {}) {
    return this.http.json(
      { method: "DELETE", path: `/env-vars/${segment(id)}`, idempotent: true, signal: options.signal },
      deleteAnswerSchema,
    );
  }
}
