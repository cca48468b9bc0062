/**
 * A tRPC subscription opened over HTTP as the SPA's httpSubscriptionLink opens it (a GET asking for
 * `text/event-stream`), read event by event. Pings and `connected` are left out; a `serialized-error` is the
 * error's shape (`data.code`, `message`), and `return` the server's clean end of the stream.
 */
import superjson from "superjson";

import { DASHBOARD_ORIGIN } from "./harness.ts";

export type SseEvent = { event: "message" | "serialized-error" | "return"; data: unknown };

/** How a test reaches the server: in process (`t.fetch`) or over a real socket (`overSocket(await t.listen())`). */
export type Fetcher = (path: string, init: RequestInit) => Promise<Response>;

export const overSocket =
  (baseUrl: string): Fetcher =>
  (path, init) =>
    fetch(`${baseUrl}${path}`, init);

export type Subscription = {
  /** The next event, or null once the server closed the stream; rejects after `timeoutMs` without one. */
  next(timeoutMs?: number): Promise<SseEvent | null>;
  /** The client leaves (closes its connection). */
  close(): void;
};

export async function openSubscription(
  fetcher: Fetcher,
  path: string,
  input: unknown,
  auth: { cookie?: string; bearer?: string } = {},
): Promise<Subscription> {
  const abort = new AbortController();
  const query = encodeURIComponent(JSON.stringify(superjson.serialize(input)));
  const response = await fetcher(`/api/trpc/${path}?input=${query}`, {
    headers: {
      origin: DASHBOARD_ORIGIN,
      accept: "text/event-stream",
      ...(auth.cookie ? { cookie: auth.cookie } : {}),
      ...(auth.bearer ? { authorization: `Bearer ${auth.bearer}` } : {}),
    },
    signal: abort.signal,
  });
  if (!response.headers.get("content-type")?.startsWith("text/event-stream")) {
    abort.abort();
    throw new Error(`${path} answered ${response.status} ${response.headers.get("content-type")}, not a stream`);
  }
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const queue: SseEvent[] = [];

  async function read(): Promise<SseEvent | null> {
    for (;;) {
      const ready = queue.shift();
      if (ready) return ready;
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) return null;
      text += value;
      const blocks = text.split("\n\n");
      text = blocks.pop() ?? "";
      for (const block of blocks) {
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === "connected" || event === "ping") continue;
        if (event === "return") {
          queue.push({ event, data: null });
          continue;
        }
        if (!data || (event !== "message" && event !== "serialized-error")) continue;
        const parsed = JSON.parse(data) as Parameters<typeof superjson.deserialize>[0];
        queue.push({ event, data: superjson.deserialize(parsed) });
      }
    }
  }

  return {
    next(timeoutMs = 10_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${path}: no event within ${timeoutMs} ms`)), timeoutMs);
      });
      return Promise.race([read(), timeout]).finally(() => clearTimeout(timer));
    },
    close: () => abort.abort(),
  };
}

/** The tRPC code of a `serialized-error` event, e.g. `NOT_FOUND`. */
export function errorCode(event: SseEvent | null): string | undefined {
  if (event?.event !== "serialized-error") return undefined;
  return (event.data as { data?: { code?: string } }).data?.code;
}
