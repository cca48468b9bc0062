/**
 * The terminal's height: the viewport's, less the page's sticky header above it and `bottomGapPx` below, so
 * that scrolled to, the whole terminal (toolbar to last row) fills the screen, whatever the page shows above
 * it. Never less than `MIN_HEIGHT_PX`. `TERMINAL_HEIGHT` is the CSS stand-in before the measure (and the
 * page's placeholder while xterm.js loads). Its own module so the page's placeholder can use it without
 * pulling in xterm.js.
 */
import { type RefObject, useLayoutEffect, useState } from "react";

export const TERMINAL_HEIGHT = "h-[max(18rem,calc(100dvh-9rem))]";
export const MIN_HEIGHT_PX = 288;
/** Room between the sticky header and the terminal's top once scrolled to. */
const TOP_GAP_PX = 12;

/** The bottom of the page's sticky (or fixed) header: what covers the top of the viewport. */
function stickyHeaderBottom(): number {
  for (const header of document.querySelectorAll("header")) {
    const { position } = getComputedStyle(header);
    if (position === "sticky" || position === "fixed") return Math.max(0, header.getBoundingClientRect().bottom);
  }
  return 0;
}

/**
 * The height for the element at `ref` (see the module comment); undefined when not `enabled`. Follows window
 * resizes and the element being shown (a hidden tab has no box).
 */
export function useFillHeight(ref: RefObject<HTMLElement | null>, bottomGapPx: number, enabled = true) {
  const [height, setHeight] = useState<number | undefined>(undefined);
  useLayoutEffect(() => {
    const element = ref.current;
    if (!element || !enabled) {
      setHeight(undefined);
      return;
    }
    const measure = () => {
      if (element.getClientRects().length === 0) return;
      const available = window.innerHeight - stickyHeaderBottom() - TOP_GAP_PX - bottomGapPx;
      setHeight(Math.max(MIN_HEIGHT_PX, Math.floor(available)));
    };
    measure();
    window.addEventListener("resize", measure);
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => {
      window.removeEventListener("resize", measure);
      observer.disconnect();
    };
  }, [ref, bottomGapPx, enabled]);
  return height;
}
