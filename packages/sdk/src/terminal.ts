import { EventEmitter, on } from "node:events";

import { apiErrorSchema, type PtyClientMessage } from "@os2/protocol";
import WebSocket from "ws";

import { codeForStatus, Os2Error, Os2NetworkError } from "./errors";

export type TerminalOptions = {
  cols?: number;
  rows?: number;
  /** The tmux session to attach to; created when missing, kept when the terminal closes. */
  session?: string;
  signal?: AbortSignal;
};

type TerminalEvents = {
  data: [chunk: Uint8Array];
  close: [code: number, reason: string];
  error: [error: Error];
};

/**
 * A terminal attached to a tmux session in a machine, over the API's WebSocket. Output is raw terminal
 * bytes (escape sequences included). Closing it detaches: the session and what runs in it live on.
 */
export class Terminal extends EventEmitter<TerminalEvents> {
  /** Resolves once the socket has closed, with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(private readonly socket: WebSocket) {
    super();
    this.closed = new Promise((resolve) => {
      socket.on("close", (code, reason) => {
        const text = reason.toString("utf8");
        this.emit("close", code, text);
        resolve({ code, reason: text });
      });
    });
    // Text frames are output too when a relay re-frames it: either way the frame is the terminal's bytes.
    socket.on("message", (data) => this.emit("data", toBytes(data)));
    socket.on("error", (error) => {
      if (this.listenerCount("error") > 0) this.emit("error", error);
    });
  }

  /** Opens the socket; rejects with an `Os2Error` when the server refuses the upgrade. */
  static open(url: string, token: string, signal?: AbortSignal): Promise<Terminal> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
      const onAbort = () => socket.terminate();
      signal?.addEventListener("abort", onAbort, { once: true });
      socket.once("open", () => {
        socket.removeAllListeners("unexpected-response");
        resolve(new Terminal(socket));
      });
      socket.once("unexpected-response", (_request, response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () => {
          reject(upgradeError(response.statusCode ?? 0, text));
          socket.terminate();
        });
      });
      socket.once("error", (error) => {
        signal?.removeEventListener("abort", onAbort);
        if (signal?.aborted) reject(signal.reason);
        else reject(new Os2NetworkError(`terminal socket ${url} failed: ${error.message}`, error));
      });
    });
  }

  /** Types into the terminal: strings as input messages, bytes as they are. */
  write(data: string | Uint8Array): void {
    if (typeof data === "string") this.sendMessage({ type: "input", data });
    else this.socket.send(data, { binary: true });
  }

  resize(cols: number, rows: number): void {
    this.sendMessage({ type: "resize", cols: Math.max(2, cols), rows: Math.max(2, rows) });
  }

  /** Detaches (the tmux session stays). */
  close(): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close(1000, "client closed");
    }
  }

  /** Output chunks until the socket closes. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    for await (const [chunk] of on(this, "data", { close: ["close"] })) yield chunk as Uint8Array;
  }

  private sendMessage(message: PtyClientMessage): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(JSON.stringify(message));
  }
}

function toBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

function upgradeError(status: number, body: string): Os2Error {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    raw = undefined;
  }
  const parsed = apiErrorSchema.safeParse(raw);
  if (parsed.success) {
    const { error: code, message, field } = parsed.data;
    return new Os2Error({ status, code, message, ...(field === undefined ? {} : { field }) });
  }
  return new Os2Error({
    status,
    code: codeForStatus(status),
    message: `the terminal upgrade was refused with ${status}${body ? `: ${body.slice(0, 200)}` : ""}`,
  });
}
