/**
 * What a new capture of a tmux pane adds to an earlier one. A capture is the last N lines of the pane
 * (scrollback plus screen), so between two polls lines can both scroll off the top and appear at the bottom,
 * and the last line may still be being written (a prompt, a progress bar). Only complete lines count as
 * seen: the last line of a capture is held back until a later line follows it, or until `final`.
 */
export type ScreenCursor = { complete: string[] };

export const emptyCursor = (): ScreenCursor => ({ complete: [] });

/** Splits a capture into lines, without the blank rows an idle screen has below its content. */
export function captureLines(text: string): string[] {
  const lines = text.replace(/\r/g, "").split("\n");
  while (lines.length > 0 && (lines[lines.length - 1] ?? "").trim() === "") lines.pop();
  return lines;
}

/**
 * Answers the text to print for `capture` after `cursor` (lines ending in "\n"; with `final`, the last line
 * too), and the cursor to pass next time.
 */
export function nextOutput(
  cursor: ScreenCursor,
  capture: string,
  final = false,
): { text: string; cursor: ScreenCursor } {
  const lines = captureLines(capture);
  const complete = final ? lines : lines.slice(0, -1);
  const seen = cursor.complete;
  const start = overlapEnd(seen, complete);
  const fresh = complete.slice(start);
  const text = fresh.map((line) => `${line}\n`).join("");
  return { text, cursor: { complete } };
}

/**
 * The index in `next` where lines not in `seen` begin: the longest tail of `seen` that `next` starts with
 * (lines that scrolled off the top leave `seen`'s head unmatched). Nothing in common means all of `next` is new.
 */
function overlapEnd(seen: string[], next: string[]): number {
  for (let shift = 0; shift < seen.length; shift++) {
    const length = seen.length - shift;
    if (length > next.length) continue;
    let same = true;
    for (let i = 0; i < length && same; i++) same = seen[shift + i] === next[i];
    if (same) return length;
  }
  return 0;
}
