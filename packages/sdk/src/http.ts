import { setTimeout as delay } from "node:timers/promises";

import { API_PREFIX, apiErrorSchema } from "@os2/protocol";
import type { z } from "zod";

import { codeForStatus, Os2Error, Os2NetworkError, Os2ProtocolError } from "./errors";
import { type AttemptOutcome, backoffDelay, DEFAULT_RETRY_POLICY, type RetryPolicy, shouldRetry } from "./retry";

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export type HttpOptions = {
  baseUrl: string;
  token: string;
  fetch?: FetchLike;
  retry?: Partial<RetryPolicy>;
};

type Query = Record<string, string | number | boolean | undefined>;

export type RequestOptions = {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Below `/api/v1`, starting with `/`. */
  path: string;
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  /** Whether sending it twice is harmless (see retry.ts). */
  idempotent: boolean;
  signal?: AbortSignal | undefined;
};

/** Encodes one path segment (a machine name may hold anything the API allows). */
export const segment = (value: string) => encodeURIComponent(value);

/** The transport: auth, retries, error answers as `Os2Error`, answers parsed with the protocol's schemas. */
export class HttpClient {
  readonly baseUrl: string;
  readonly token: string;
  private readonly fetchImpl: FetchLike;
  private readonly policy: RetryPolicy;

  constructor(options: HttpOptions) {
    if (!options.baseUrl) throw new TypeError("Os2: baseUrl is required, e.g. http://localhost:3001");
    if (!options.token) throw new TypeError("Os2: token is required (a project access token, pat_…)");
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.token = options.token;
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  }

  url(path: string, query?: Query): string {
    const url = new URL(`${this.baseUrl}${API_PREFIX}${path}`);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  /** Sends the request (retrying where safe) and answers the successful response, unread. */
  async send(options: RequestOptions): Promise<Response> {
    const url = this.url(options.path, options.query);
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, ...options.headers };
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await this.fetchImpl(url, { method: options.method, headers, body, signal: options.signal });
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        if (await this.backOff(attempt, { kind: "network" }, options)) continue;
        throw new Os2NetworkError(
          `${options.method} ${url} failed: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`,
          error,
        );
      }
      if (response.ok) return response;
      const retryAfter = Number(response.headers.get("retry-after") ?? Number.NaN);
      if (await this.backOff(attempt, { kind: "status", status: response.status }, options, retryAfter)) {
        await response.body?.cancel().catch(() => undefined);
        continue;
      }
      throw await errorFromResponse(options.method, url, response);
    }
  }

  /** `send`, then the JSON body parsed with `schema`. */
  async json<S extends z.ZodType>(options: RequestOptions, schema: S): Promise<z.output<S>> {
    const response = await this.send(options);
    const text = await response.text();
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new Os2ProtocolError(
        response.status,
        `${options.method} ${options.path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`,
      );
    }
    return parseAnswer(schema, raw, `${options.method} ${options.path}`, response.status);
  }

  private async backOff(
    attempt: number,
    outcome: AttemptOutcome,
    options: RequestOptions,
    retryAfterSeconds?: number,
  ): Promise<boolean> {
    if (!shouldRetry(this.policy, attempt, outcome, options.idempotent)) return false;
    const wait = backoffDelay(this.policy, attempt, Number.isNaN(retryAfterSeconds) ? undefined : retryAfterSeconds);
    await delay(wait, undefined, { signal: options.signal });
    return true;
  }
}

/** Parses an answer with its protocol schema; a mismatch is an `Os2ProtocolError` naming the first issue. */
export function parseAnswer<S extends z.ZodType>(schema: S, raw: unknown, what: string, status = 200): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join(".") : "(root)";
  throw new Os2ProtocolError(status, `${what}: unexpected answer at ${where}: ${issue?.message ?? "invalid"}`);
}

/** An error answer as an `Os2Error`: the API's `{ error, message, field }` when it is one, else the status. */
export async function errorFromResponse(method: string, url: string, response: Response): Promise<Os2Error> {
  const text = await response.text().catch(() => "");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const parsed = apiErrorSchema.safeParse(raw);
  if (parsed.success) {
    return new Os2Error({
      status: response.status,
      code: parsed.data.error,
      message: parsed.data.message,
      ...(parsed.data.field === undefined ? {} : { field: parsed.data.field }),
    });
  }
  const detail = text.trim().slice(0, 200) || response.statusText;
  return new Os2Error({
    status: response.status,
    code: codeForStatus(response.status),
    message: `${method} ${url} answered ${response.status}${detail ? `: ${detail}` : ""}`,
  });
}
