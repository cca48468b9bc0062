import { clsx } from "clsx";
import { type ReactNode, useId, useLayoutEffect, useMemo, useRef, useState } from "react";

import { Button } from "../ui/button.tsx";
import { inputClasses } from "../ui/field.tsx";

const VIEW_CLASSES =
  "max-h-[28rem] min-h-24 overflow-auto rounded-lg bg-zinc-950 px-3 py-2.5 font-mono text-xs leading-relaxed break-words whitespace-pre-wrap text-zinc-200";

/** At most this many matching lines are drawn with highlights; the count still covers them all. */
const MAX_HIGHLIGHTED = 5_000;

/**
 * Keeps a scrollable element at its bottom as content grows, like `tail -f`, unless the reader scrolled up
 * to read something: then it stays where it is until they scroll back down (or jump to the latest line).
 */
function useStickToBottom<T extends HTMLElement>(content: unknown) {
  const ref = useRef<T>(null);
  const [atBottom, setAtBottom] = useState(true);
  const following = useRef(true);
  useLayoutEffect(() => {
    const element = ref.current;
    if (element && following.current) element.scrollTop = element.scrollHeight;
  }, [content]);
  const onScroll = (event: React.UIEvent<T>) => {
    const element = event.currentTarget;
    const bottom = element.scrollHeight - element.scrollTop - element.clientHeight < 24;
    following.current = bottom;
    setAtBottom(bottom);
  };
  const jumpToLatest = () => {
    const element = ref.current;
    following.current = true;
    setAtBottom(true);
    if (element) element.scrollTop = element.scrollHeight;
  };
  return { ref, onScroll, atBottom, jumpToLatest };
}

/**
 * A scrollable block of log or terminal text. It follows new output like `tail -f`, unless the reader has
 * scrolled up to read something, in which case a refresh leaves the view where it is.
 */
export function LogView({ text, label, empty = "Nothing yet." }: { text: string; label: string; empty?: string }) {
  const { ref, onScroll } = useStickToBottom<HTMLPreElement>(text);
  return (
    <pre
      ref={ref}
      aria-label={label}
      // Focusable so the keyboard can scroll it.
      tabIndex={0}
      onScroll={onScroll}
      className={VIEW_CLASSES}
    >
      {text.trim() ? text : <span className="text-zinc-500">{empty}</span>}
    </pre>
  );
}

function highlighted(line: string, needle: string): ReactNode[] {
  const parts: ReactNode[] = [];
  const lower = line.toLowerCase();
  let start = 0;
  for (let at = lower.indexOf(needle); at !== -1; at = lower.indexOf(needle, start)) {
    if (at > start) parts.push(line.slice(start, at));
    parts.push(
      <mark key={at} className="rounded-sm bg-amber-300 px-px text-zinc-950">
        {line.slice(at, at + needle.length)}
      </mark>,
    );
    start = at + needle.length;
  }
  if (start < line.length) parts.push(line.slice(start));
  return parts;
}

/** Saves text as a .txt file from the browser. */
function download(fileName: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * A log with a search box (filters to the matching lines and highlights the match, case-insensitive), a
 * Download of what is shown, and tail-like scrolling with a "Jump to latest" when the reader scrolled up.
 */
export function SearchableLog({
  lines,
  label,
  empty,
  fileName,
  status,
}: {
  lines: string[];
  /** Names the log for screen readers, e.g. "Container logs". */
  label: string;
  empty: string;
  /** Without .txt. */
  fileName: string;
  /** A short note under the toolbar: following, ended, an error. */
  status?: ReactNode;
}) {
  const [query, setQuery] = useState("");
  const needle = query.trim().toLowerCase();
  const matches = useMemo(
    () => (needle ? lines.filter((line) => line.toLowerCase().includes(needle)) : lines),
    [lines, needle],
  );
  const shown = needle ? matches.slice(-MAX_HIGHLIGHTED) : matches;
  const { ref, onScroll, atBottom, jumpToLatest } = useStickToBottom<HTMLPreElement>(shown);
  const searchId = useId();
  const countId = useId();
  return (
    <div className="space-y-2">
      <div className="flex flex-wrap items-center gap-2">
        <label htmlFor={searchId} className="sr-only">
          Search {label.toLowerCase()}
        </label>
        <div className="w-64 max-w-full">
          <input
            id={searchId}
            type="search"
            value={query}
            placeholder="Search lines"
            aria-describedby={countId}
            onChange={(event) => setQuery(event.target.value)}
            onKeyDown={(event) => {
              if (event.key === "Escape") setQuery("");
            }}
            className={inputClasses("h-8 py-1 font-mono text-xs")}
          />
        </div>
        <span id={countId} className="text-xs text-zinc-500" aria-live="polite">
          {needle ? `${matches.length} of ${lines.length} lines match` : `${lines.length} lines`}
        </span>
        <span className="grow" />
        <Button
          size="sm"
          variant="secondary"
          disabled={shown.length === 0}
          title={needle ? "Download the matching lines as a text file" : "Download these lines as a text file"}
          onClick={() => download(`${fileName}.txt`, shown.length ? `${shown.join("\n")}\n` : "")}
        >
          Download{needle ? " matches" : ""}
        </Button>
      </div>
      {status ? <div className="text-xs text-zinc-600">{status}</div> : null}
      <div className="relative">
        <pre
          ref={ref}
          aria-label={label}
          // Focusable so the keyboard can scroll it.
          tabIndex={0}
          onScroll={onScroll}
          className={VIEW_CLASSES}
        >
          {shown.length === 0 ? (
            <span className="text-zinc-500">{needle ? `No line matches “${query.trim()}”.` : empty}</span>
          ) : needle ? (
            shown.map((line, index) => (
              <span key={index} className="block">
                {highlighted(line, needle)}
              </span>
            ))
          ) : (
            shown.join("\n")
          )}
        </pre>
        {!atBottom ? (
          <button
            type="button"
            onClick={jumpToLatest}
            className={clsx(
              "absolute right-3 bottom-3 rounded-md bg-zinc-100 px-2.5 py-1 text-xs font-medium text-zinc-900 shadow",
              "hover:bg-white focus-visible:outline-2 focus-visible:outline-accent-500",
            )}
          >
            Jump to latest ↓
          </button>
        ) : null}
      </div>
    </div>
  );
}
