/** Turning thrown values into the readable sentence the server wrote, for inline display. */
import { TRPCClientError } from "@trpc/client";

import type { AppRouter } from "../../../backend/trpc/app-router.ts";

export function isTrpcError(error: unknown): error is TRPCClientError<AppRouter> {
  return error instanceof TRPCClientError;
}

export function trpcErrorCode(error: unknown): string | undefined {
  return isTrpcError(error) ? error.data?.code : undefined;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error && error.message) return error.message;
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    return error.message;
  }
  return "Something went wrong. Try again.";
}
