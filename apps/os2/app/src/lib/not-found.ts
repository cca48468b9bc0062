import { notFound } from "@tanstack/react-router";

import { trpcErrorCode } from "./errors.ts";

/**
 * Loaders: an organization or project the user cannot see is NOT_FOUND on the server (existence is never
 * confirmed); a malformed slug in the URL is BAD_REQUEST. Both render the route's "not found" page.
 */
export async function orNotFound<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    const code = trpcErrorCode(error);
    if (code === "NOT_FOUND" || code === "BAD_REQUEST") throw notFound();
    throw error;
  }
}
