import type { ErrorResponse } from "@os2/protocol";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";

/** A failure the client caused or can act on; `onError` turns it into an `ErrorResponse`. */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorResponse["error"],
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, field?: string) => new HttpError(400, "bad_request", message, field);
export const notFound = (message: string) => new HttpError(404, "not_found", message);

/** Parses with zod and reports the first issue as a 400 naming the field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, where: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.map(String).join(".") ?? "";
  const name = field || where;
  throw badRequest(`${name}: ${issue?.message ?? "invalid"}`, field || undefined);
}

export async function parseJsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw badRequest("body: must be valid JSON (send Content-Type: application/json)", "body");
  }
  return parseOrThrow(schema, raw, "body");
}

export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  return parseOrThrow(schema, c.req.query(), "query");
}

export function errorBody(error: HttpError): ErrorResponse {
  return { error: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) };
}
