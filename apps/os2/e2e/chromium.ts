/**
 * Debian's Chromium for every Playwright config (`playwright install` cannot download browsers here).
 * The flags keep it headless, quiet on a closed network, and on a fresh profile.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
