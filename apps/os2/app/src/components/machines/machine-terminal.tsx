/**
 * The browser terminal: xterm.js over the daemon's `/api/pty/ws` through the os2 proxy, attached to the tmux
 * session `main`. Closing the socket only detaches, so after a drop (network, daemon restart, machine restart)
 * it reconnects with capped exponential backoff and re-attaches to the same session: the shell, its history
 * and running programs survive. Loaded lazily by the machine page, since xterm.js is the heaviest dependency.
 *
 * Wire: server → client binary frames of output; client → server JSON text frames `{type:"input",data}` and
 * `{type:"resize",cols,rows}` (apps/daemon/README.md, Terminal).
 */
import "@xterm/xterm/css/xterm.css";

import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import { clsx } from "clsx";
import { useCallback, useEffect, useRef, useState } from "react";

import { Button } from "../ui/button.tsx";
import { TERMINAL_HEIGHT } from "./terminal-size.ts";

export const TMUX_SESSION = "main";
const MAX_BACKOFF_MS = 10_000;

type ConnectionStatus =
  | { kind: "idle" }
  | { kind: "connecting"; attempt: number }
  | { kind: "connected" }
  | { kind: "waiting"; attempt: number; retryAt: number };

export type MachineTerminalProps = {
  /** The proxy prefix of the machine's daemon, ending in `/`. */
  proxyPath: string;
  /** Connect only while the machine is running; otherwise the terminal waits, showing `idleMessage`. */
  enabled: boolean;
  idleMessage: string;
};

function terminalUrl(proxyPath: string, cols: number, rows: number): string {
  const url = new URL(`${proxyPath}api/pty/ws`, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.search = new URLSearchParams({ cols: String(cols), rows: String(rows), tmuxSession: TMUX_SESSION }).toString();
  return url.toString();
}

export default function MachineTerminal({ proxyPath, enabled, idleMessage }: MachineTerminalProps) {
  const containerRef = useRef<HTMLDivElement>(null);
  const [terminal, setTerminal] = useState<Terminal | null>(null);
  const [status, setStatus] = useState<ConnectionStatus>({ kind: "idle" });
  const reconnectNow = useRef<() => void>(() => undefined);

  // The terminal itself lives as long as the component; sockets come and go underneath it.
  useEffect(() => {
    const container = containerRef.current;
    if (!container) return;
    const term = new Terminal({
      cursorBlink: true,
      fontFamily: 'ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace',
      fontSize: 13,
      lineHeight: 1.15,
      scrollback: 5_000,
      theme: { background: "#09090b", foreground: "#e4e4e7", cursor: "#a5b4fc", selectionBackground: "#3f3f46" },
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(container);
    // A hidden tab has no size; fitting then would shrink the terminal to nothing.
    const refit = () => {
      if (container.clientWidth > 0 && container.clientHeight > 0) fit.fit();
    };
    refit();
    const observer = new ResizeObserver(refit);
    observer.observe(container);
    setTerminal(term);
    return () => {
      observer.disconnect();
      term.dispose();
      setTerminal(null);
    };
  }, []);

  useEffect(() => {
    if (!terminal || !enabled) {
      setStatus({ kind: "idle" });
      return;
    }
    let socket: WebSocket | null = null;
    let attempt = 0;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;

    const send = (message: { type: "input"; data: string } | { type: "resize"; cols: number; rows: number }) => {
      if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    };
    const connect = () => {
      clearTimeout(retryTimer);
      setStatus({ kind: "connecting", attempt });
      const current = new WebSocket(terminalUrl(proxyPath, terminal.cols, terminal.rows));
      current.binaryType = "arraybuffer";
      socket = current;
      current.onopen = () => {
        attempt = 0;
        // tmux redraws the whole screen on attach; start from a clean slate so nothing is drawn twice.
        terminal.reset();
        setStatus({ kind: "connected" });
        // The socket URL carried the size at connect time; the panel may have been resized since.
        send({ type: "resize", cols: terminal.cols, rows: terminal.rows });
      };
      current.onmessage = (event: MessageEvent<ArrayBuffer | string>) => {
        if (typeof event.data === "string") return; // `{type:"error"}` answers a malformed message of ours
        terminal.write(new Uint8Array(event.data));
      };
      current.onclose = () => {
        if (stopped || socket !== current) return;
        const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
        attempt += 1;
        setStatus({ kind: "waiting", attempt, retryAt: Date.now() + delay });
        retryTimer = setTimeout(connect, delay);
      };
    };
    reconnectNow.current = () => {
      if (socket?.readyState === WebSocket.OPEN || socket?.readyState === WebSocket.CONNECTING) return;
      attempt = 0;
      connect();
    };

    const input = terminal.onData((data) => send({ type: "input", data }));
    const binary = terminal.onBinary((data) => {
      if (socket?.readyState !== WebSocket.OPEN) return;
      socket.send(Uint8Array.from(data, (char) => char.charCodeAt(0)));
    });
    const resize = terminal.onResize(({ cols, rows }) => send({ type: "resize", cols, rows }));
    // Coming back online or to the tab: don't wait out the backoff.
    const wake = () => {
      if (document.visibilityState === "visible") reconnectNow.current();
    };
    window.addEventListener("online", wake);
    document.addEventListener("visibilitychange", wake);
    connect();

    return () => {
      stopped = true;
      clearTimeout(retryTimer);
      input.dispose();
      binary.dispose();
      resize.dispose();
      window.removeEventListener("online", wake);
      document.removeEventListener("visibilitychange", wake);
      reconnectNow.current = () => undefined;
      socket?.close();
    };
  }, [terminal, enabled, proxyPath]);

  const focus = useCallback(() => terminal?.focus(), [terminal]);

  return (
    <div className="overflow-hidden rounded-xl border border-zinc-800 bg-zinc-950 shadow-xs">
      <div className="flex min-h-10 flex-wrap items-center justify-between gap-2 border-b border-zinc-800 px-3 py-1.5 text-xs text-zinc-400">
        <span className="font-mono">tmux · {TMUX_SESSION}</span>
        <div className="flex items-center gap-2">
          <ConnectionBadge status={status} />
          {status.kind === "waiting" ? (
            <Button
              size="sm"
              variant="ghost"
              className="h-7 text-zinc-300 hover:bg-zinc-800"
              onClick={() => reconnectNow.current()}
            >
              Reconnect now
            </Button>
          ) : null}
        </div>
      </div>
      <div className="relative">
        <div
          ref={containerRef}
          data-testid="machine-terminal"
          className={clsx(TERMINAL_HEIGHT, "px-2 py-1.5")}
          onClick={focus}
        />
        {!enabled ? (
          <div className="absolute inset-0 flex items-center justify-center bg-zinc-950/85 px-6 text-center text-sm text-zinc-300">
            {idleMessage}
          </div>
        ) : null}
      </div>
    </div>
  );
}

function ConnectionBadge({ status }: { status: ConnectionStatus }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (status.kind !== "waiting") return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [status.kind]);
  const label = (() => {
    switch (status.kind) {
      case "idle":
        return "Not connected";
      case "connecting":
        return status.attempt > 0 ? "Reconnecting…" : "Connecting…";
      case "connected":
        return "Connected";
      case "waiting":
        return `Disconnected · retrying in ${Math.max(0, Math.ceil((status.retryAt - now) / 1000))} s`;
    }
  })();
  return (
    <span
      role="status"
      data-testid="terminal-status"
      data-status={status.kind}
      className="inline-flex items-center gap-1.5"
    >
      <span
        aria-hidden="true"
        className={clsx(
          "size-2 rounded-full",
          status.kind === "connected" && "bg-emerald-400",
          status.kind === "connecting" && "animate-pulse bg-sky-400",
          status.kind === "waiting" && "bg-amber-400",
          status.kind === "idle" && "bg-zinc-600",
        )}
      />
      {label}
    </span>
  );
}
