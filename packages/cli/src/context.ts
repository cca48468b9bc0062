import { Os2 } from "@os2/sdk";

import { resolveCredentials } from "./config";

/** A client from OS2_URL/OS2_TOKEN or the saved login. */
export function client(): Os2 {
  const credentials = resolveCredentials();
  if (!credentials) {
    throw new Error("not logged in: run `os2 login`, or set OS2_URL and OS2_TOKEN");
  }
  return new Os2({ baseUrl: credentials.url, token: credentials.token });
}

/** An AbortSignal that fires on the first Ctrl-C (SIGINT) or SIGTERM. */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  const abort = () => controller.abort(new DOMException("interrupted", "AbortError"));
  process.once("SIGINT", abort);
  process.once("SIGTERM", abort);
  return controller.signal;
}
