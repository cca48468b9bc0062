import type { IncomingMessage } from "node:http";

/** A Node request's headers as a Fetch `Headers` (for WebSocket upgrades, which bypass Hono). */
export function headersOf(request: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  return headers;
}
