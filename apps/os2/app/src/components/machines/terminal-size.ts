/**
 * The terminal's height: what is left of a laptop screen below the machine page's header, within sensible
 * bounds. Its own module so the page's placeholder can use it without pulling in xterm.js.
 */
export const TERMINAL_HEIGHT = "h-[clamp(16rem,calc(100dvh-32rem),44rem)]";
