import { basename } from "node:path";

import { EXEC_KEEPALIVE_MS, execRequestSchema, type ExecResult, type ExecStreamEvent } from "@os2/protocol";
import { Hono } from "hono";

import type { DaemonConfig } from "../config";
import { parseJsonBody } from "../http/errors";
import { resolveExistingDir } from "../paths";
import type { OomMonitor } from "../resources/oom-monitor";
import { type OutputValve, runProcess, type RunProcessInput } from "./run-process";

/**
 * `POST /api/exec`: one command, buffered ({exitCode, stdout, stderr}) or streamed as NDJSON. It starts with
 * a raised `oom_score_adj`, and a SIGKILL the daemon did not send is reported to the OOM monitor, which
 * names the command when the cgroup's kill counter says it was the OOM killer.
 */
export function execRoutes(config: DaemonConfig, oom: OomMonitor) {
  return new Hono().post("/", async (c) => {
    const req = await parseJsonBody(c, execRequestSchema);
    const cwd = await resolveExistingDir(config.workspaceDir, req.cwd);
    const base: ExecBase = {
      command: req.command,
      args: req.args,
      cwd,
      env: req.env,
      timeoutMs: req.timeoutMs,
      ...(req.stdin === undefined ? {} : { stdin: Buffer.from(req.stdin, req.stdinEncoding) }),
      oomScoreAdj: config.childOomScoreAdj,
      onForeignSigkill: (pid) => oom.noteKilledChild(pid, basename(req.command)),
    };
    if (req.stream) return streamExec(base, c.req.raw.signal);
    return c.json(await bufferExec(base, config.execMaxOutputBytes, c.req.raw.signal));
  });
}

type ExecBase = Omit<RunProcessInput, "onStdout" | "onStderr" | "signal" | "onOutputValve">;

/**
 * Bytes of NDJSON the streamed response may hold before the command's output is paused. The socket's own
 * buffer comes on top (the Node adapter waits for 'drain' before it pulls more), so a slow reader costs the
 * daemon about this much memory, however fast the command writes.
 */
const STREAM_HIGH_WATER_BYTES = 64 * 1024;

async function bufferExec(base: ExecBase, maxChars: number, signal: AbortSignal): Promise<ExecResult> {
  let stdout = "";
  let stderr = "";
  let truncated = false;
  // Caps count UTF-16 units, a close enough proxy for bytes that avoids re-encoding every chunk.
  const append = (current: string, text: string) => {
    if (current.length + text.length <= maxChars) return current + text;
    truncated = true;
    return current + text.slice(0, Math.max(0, maxChars - current.length));
  };
  const exit = await runProcess({
    ...base,
    signal,
    onStdout: (text) => (stdout = append(stdout, text)),
    onStderr: (text) => (stderr = append(stderr, text)),
  });
  return { ...exit, stdout, stderr, truncated };
}

function streamExec(base: ExecBase, requestSignal: AbortSignal): Response {
  const abort = new AbortController();
  requestSignal.addEventListener("abort", () => abort.abort(), { once: true });
  const encoder = new TextEncoder();
  let valve: OutputValve | undefined;
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        // A blank line at once, so the response head goes out before the command's first output, and
        // again whenever the command is quiet, so no client or proxy idle timer ends a long, quiet command.
        let lastSent = Date.now();
        const keepalive = () => {
          if (abort.signal.aborted) return;
          controller.enqueue(encoder.encode("\n"));
          lastSent = Date.now();
        };
        keepalive();
        const heartbeat = setInterval(() => {
          if (Date.now() - lastSent >= EXEC_KEEPALIVE_MS) keepalive();
        }, EXEC_KEEPALIVE_MS / 3);
        abort.signal.addEventListener("abort", () => clearInterval(heartbeat), { once: true });
        const send = (event: ExecStreamEvent) => {
          if (abort.signal.aborted) return;
          lastSent = Date.now();
          controller.enqueue(encoder.encode(`${JSON.stringify(event)}\n`));
          // The queue is full: stop reading the command until the reader pulls again.
          if ((controller.desiredSize ?? 0) <= 0) valve?.pause();
        };
        runProcess({
          ...base,
          signal: abort.signal,
          onStdout: (data) => send({ type: "stdout", data }),
          onStderr: (data) => send({ type: "stderr", data }),
          onOutputValve: (v) => (valve = v),
        }).then(
          (exit) => {
            clearInterval(heartbeat);
            send({ type: "exit", ...exit });
            if (!abort.signal.aborted) controller.close();
          },
          (error: unknown) => {
            clearInterval(heartbeat);
            if (!abort.signal.aborted) controller.error(error);
          },
        );
      },
      // The reader caught up: read the command again.
      pull() {
        valve?.resume();
      },
      // The client went away: kill the command rather than let it run unobserved.
      cancel() {
        abort.abort();
      },
    },
    { highWaterMark: STREAM_HIGH_WATER_BYTES, size: (chunk) => chunk.byteLength },
  );
  return new Response(body, {
    headers: {
      "content-type": "application/x-ndjson; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}
