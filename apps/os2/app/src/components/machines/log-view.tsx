import { useLayoutEffect, useRef } from "react";

/**
 * A scrollable block of log or terminal text. It follows new output like `tail -f`, unless the reader has
 * scrolled up to read something, in which case a refresh leaves the view where it is.
 */
export function LogView({ text, label, empty = "Nothing yet." }: { text: string; label: string; empty?: string }) {
  const ref = useRef<HTMLPreElement>(null);
  const following = useRef(true);
  useLayoutEffect(() => {
    const element = ref.current;
    if (element && following.current) element.scrollTop = element.scrollHeight;
  }, [text]);
  return (
    <pre
      ref={ref}
      aria-label={label}
      // Focusable so the keyboard can scroll it.
      tabIndex={0}
      onScroll={(event) => {
        const element = event.currentTarget;
        following.current = element.scrollHeight - element.scrollTop - element.clientHeight < 24;
      }}
      className="max-h-[28rem] min-h-24 overflow-auto rounded-lg bg-zinc-950 px-3 py-2.5 font-mono text-xs leading-relaxed break-words whitespace-pre-wrap text-zinc-200"
    >
      {text.trim() ? text : <span className="text-zinc-500">{empty}</span>}
    </pre>
  );
}
