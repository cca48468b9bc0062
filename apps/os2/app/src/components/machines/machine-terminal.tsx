/**
 * The browser terminal: xterm.js over the daemon's `/api/pty/ws` through the os2 proxy, attached to a tmux
 * session (`main`, or an agent's own). Closing the socket only detaches, so after a drop (network, daemon restart, machine restart)
 * it reconnects with capped exponential backoff and re-attaches to the same session: the shell, its history
 * and running programs survive. Loaded lazily by the machine page, since xterm.js is the heaviest dependency.
 *
 * Wire: server → client binary frames of output; client → server JSON text frames `{type:"input",data}` and
 * `{type:"resize",cols,rows}` (apps/daemon/README.md, Terminal).
 *
 * It fills the height it is given (the viewport's, less the sticky header: `useFillHeight`; or a fixed class), has a
 * fullscreen toggle (a fixed overlay, not the Fullscreen API, which phones lack for elements), and on touch
 * screens a key bar (terminal-key-bar.tsx). xterm.js's fit addon measures the terminal's parent without its
 * padding, so the element xterm.js opens in has none: padding there pushed the last row (tmux's status bar)
 * out of the box.
 */
import "@xterm/xterm/css/xterm.css";

import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import { clsx } from "clsx";
import { type ButtonHTMLAttributes, useCallback, useEffect, useRef, useState } from "react";

import { type BarKey, keySequence, TerminalKeyBar, withCtrl } from "./terminal-key-bar.tsx";
import { TERMINAL_HEIGHT, useFillHeight } from "./terminal-size.ts";

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
  /** The tmux session to attach to; `main` unless it is an agent's. */
  tmuxSession?: string;
  /** `fill`: down to the viewport's bottom, less `bottomGapPx`; otherwise a Tailwind height class. */
  height?: "fill" | string;
  bottomGapPx?: number;
  /** data-testid of the xterm.js host element. */
  testId?: string;
};

function terminalUrl(proxyPath: string, tmuxSession: string, cols: number, rows: number): string {
  const url = new URL(`${proxyPath}api/pty/ws`, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.search = new URLSearchParams({ cols: String(cols), rows: String(rows), tmuxSession }).toString();
  return url.toString();
}

/** Whether the primary pointer is a finger: phones and tablets, where a key bar is shown. */
function useCoarsePointer(): boolean {
  const query = "(pointer: coarse)";
  const [coarse, setCoarse] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const media = window.matchMedia(query);
    const change = () => setCoarse(media.matches);
    media.addEventListener("change", change);
    return () => media.removeEventListener("change", change);
  }, []);
  return coarse;
}

export default function MachineTerminal({
  proxyPath,
  enabled,
  idleMessage,
  tmuxSession = TMUX_SESSION,
  height = "fill",
  bottomGapPx = 16,
  testId = "machine-terminal",
}: MachineTerminalProps) {
  const boxRef = useRef<HTMLDivElement>(null);
  const containerRef = useRef<HTMLDivElement>(null);
  const [terminal, setTerminal] = useState<Terminal | null>(null);
  const [status, setStatus] = useState<ConnectionStatus>({ kind: "idle" });
  const reconnectNow = useRef<() => void>(() => undefined);
  const sendInput = useRef<(data: string) => void>(() => undefined);
  const [fullscreen, setFullscreen] = useState(false);
  const [ctrl, setCtrl] = useState(false);
  const ctrlRef = useRef(false);
  const armCtrl = (on: boolean) => {
    ctrlRef.current = on;
    setCtrl(on);
  };
  const coarse = useCoarsePointer();
  const fillHeight = useFillHeight(boxRef, bottomGapPx, height === "fill" && !fullscreen);

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
      const current = new WebSocket(terminalUrl(proxyPath, tmuxSession, terminal.cols, terminal.rows));
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

    sendInput.current = (data) => send({ type: "input", data });
    const input = terminal.onData((data) => {
      // The key bar's sticky Ctrl applies to the next key typed on the (on-screen) keyboard.
      if (ctrlRef.current) {
        ctrlRef.current = false;
        setCtrl(false);
        send({ type: "input", data: withCtrl(data) });
        return;
      }
      send({ type: "input", data });
    });
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
      sendInput.current = () => undefined;
      socket?.close();
    };
  }, [terminal, enabled, proxyPath, tmuxSession]);

  const focus = useCallback(() => terminal?.focus(), [terminal]);

  const pressKey = (key: BarKey) => {
    if (!terminal) return;
    const data = keySequence(key, {
      ctrl: ctrlRef.current,
      applicationCursor: terminal.modes.applicationCursorKeysMode,
    });
    armCtrl(false);
    sendInput.current(data);
    terminal.focus();
  };

  // Fullscreen: the page behind must not scroll, and the terminal takes the keyboard at once.
  useEffect(() => {
    if (!fullscreen) return;
    const previous = document.body.style.overflow;
    document.body.style.overflow = "hidden";
    terminal?.focus();
    return () => {
      document.body.style.overflow = previous;
    };
  }, [fullscreen, terminal]);

  return (
    <div
      ref={boxRef}
      data-testid={`${testId}-box`}
      data-fullscreen={fullscreen}
      style={height === "fill" && !fullscreen && fillHeight !== undefined ? { height: fillHeight } : undefined}
      className={clsx(
        "flex flex-col overflow-hidden border-zinc-800 bg-zinc-950",
        fullscreen ? "fixed inset-0 z-50 h-dvh" : "rounded-xl border shadow-xs",
        !fullscreen && (height === "fill" ? (fillHeight === undefined ? TERMINAL_HEIGHT : undefined) : height),
      )}
    >
      <div className="flex min-h-10 shrink-0 flex-wrap items-center justify-between gap-2 border-b border-zinc-800 px-3 py-1.5 text-xs text-zinc-400">
        <span className="font-mono">tmux · {tmuxSession}</span>
        <div className="flex items-center gap-2">
          <ConnectionBadge status={status} />
          {status.kind === "waiting" ? (
            <ToolbarButton onClick={() => reconnectNow.current()}>Reconnect now</ToolbarButton>
          ) : null}
          <ToolbarButton aria-pressed={fullscreen} onClick={() => setFullscreen((on) => !on)}>
            {fullscreen ? "Exit fullscreen" : "Fullscreen"}
          </ToolbarButton>
        </div>
      </div>
      {/* The padding is here, around xterm.js's parent, which the fit addon measures as its own size. */}
      <div className="relative min-h-0 flex-1 px-2 py-1.5">
        <div ref={containerRef} data-testid={testId} className="h-full w-full overflow-hidden" onClick={focus} />
        {!enabled ? (
          <div className="absolute inset-0 flex items-center justify-center bg-zinc-950/85 px-6 text-center text-sm text-zinc-300">
            {idleMessage}
          </div>
        ) : null}
      </div>
      {coarse ? <TerminalKeyBar ctrl={ctrl} onToggleCtrl={() => armCtrl(!ctrl)} onKey={pressKey} /> : null}
    </div>
  );
}

/** A quiet button on the terminal's dark toolbar. */
function ToolbarButton(props: ButtonHTMLAttributes<HTMLButtonElement>) {
  return (
    <button
      type="button"
      {...props}
      className="h-7 rounded-md px-2 text-xs font-medium text-zinc-200 transition-colors hover:bg-zinc-800 focus-visible:outline-2 focus-visible:outline-accent-500"
    />
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
