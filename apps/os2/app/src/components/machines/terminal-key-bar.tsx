/**
 * Keys a phone's on-screen keyboard lacks, under the terminal on touch screens: Esc, Ctrl (sticky: it applies
 * to the next key, typed or tapped here), Tab and the arrows. Buttons never take the focus from the terminal,
 * so the on-screen keyboard stays up.
 */
import { clsx } from "clsx";
import type { ReactNode } from "react";

export type BarKey = "escape" | "tab" | "up" | "down" | "left" | "right";

/** The bytes a key sends; arrows follow the terminal's cursor-key mode, as xterm.js's own keyboard does. */
export function keySequence(key: BarKey, { ctrl, applicationCursor }: { ctrl: boolean; applicationCursor: boolean }) {
  const arrow = { up: "A", down: "B", right: "C", left: "D" } as const;
  switch (key) {
    case "escape":
      return "\x1b";
    case "tab":
      return "\t";
    default:
      if (ctrl) return `\x1b[1;5${arrow[key]}`;
      return `${applicationCursor ? "\x1bO" : "\x1b["}${arrow[key]}`;
  }
}

/** Ctrl + a typed character: letters and @[\]^_ become their control codes; anything else passes unchanged. */
export function withCtrl(data: string): string {
  if (data.length !== 1) return data;
  const code = data.toUpperCase().charCodeAt(0);
  if (code >= 64 && code <= 95) return String.fromCharCode(code - 64);
  if (data === " ") return "\x00";
  if (data === "?") return "\x7f";
  return data;
}

export function TerminalKeyBar({
  ctrl,
  onToggleCtrl,
  onKey,
}: {
  ctrl: boolean;
  onToggleCtrl: () => void;
  onKey: (key: BarKey) => void;
}) {
  return (
    <div
      role="toolbar"
      aria-label="Terminal keys"
      className="flex gap-1 overflow-x-auto border-t border-zinc-800 bg-zinc-900 px-2 py-1.5"
    >
      <BarButton label="Esc" onPress={() => onKey("escape")}>
        Esc
      </BarButton>
      <BarButton label="Ctrl" pressed={ctrl} onPress={onToggleCtrl}>
        Ctrl
      </BarButton>
      <BarButton label="Tab" onPress={() => onKey("tab")}>
        Tab
      </BarButton>
      <BarButton label="Left" onPress={() => onKey("left")}>
        ←
      </BarButton>
      <BarButton label="Up" onPress={() => onKey("up")}>
        ↑
      </BarButton>
      <BarButton label="Down" onPress={() => onKey("down")}>
        ↓
      </BarButton>
      <BarButton label="Right" onPress={() => onKey("right")}>
        →
      </BarButton>
    </div>
  );
}

function BarButton({
  label,
  pressed,
  onPress,
  children,
}: {
  label: string;
  pressed?: boolean;
  onPress: () => void;
  children: ReactNode;
}) {
  return (
    <button
      type="button"
      aria-label={label}
      aria-pressed={pressed}
      // Keep the focus (and the on-screen keyboard) in the terminal.
      onPointerDown={(event) => event.preventDefault()}
      onMouseDown={(event) => event.preventDefault()}
      onClick={onPress}
      className={clsx(
        "h-9 min-w-11 shrink-0 rounded-md px-2.5 font-mono text-sm ring-1 ring-zinc-700 ring-inset select-none",
        pressed ? "bg-accent-600 text-white ring-accent-500" : "bg-zinc-800 text-zinc-100 active:bg-zinc-700",
      )}
    >
      {children}
    </button>
  );
}
