/**
 * The one place where dockerode / docker-modem / socket errors become `ProviderError`s.
 * docker-modem rejects with `Error & { statusCode, json: { message } }` for HTTP answers, and with Node's
 * socket errors (`code: "ECONNREFUSED"`…) when the engine cannot be reached.
 */
import { ProviderError, type ProviderErrorKind } from "../errors";

export type DockerCallContext = {
  /** What was attempted, for messages: "create container os2-abc", "inspect image iterate-sandbox:local". */
  operation: string;
  dockerHost: string;
  timeoutMs: number;
  callerSignal?: AbortSignal;
  /** The per-call timeout signal; when it fired, the call timed out. */
  deadline: AbortSignal;
  /** Overrides the default not_found mapping of an HTTP 404 (e.g. a missing image makes the provider unavailable). */
  onNotFound?: { kind: ProviderErrorKind; message: string };
};

/** Socket-level codes meaning "nothing usable is listening there". */
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ENOENT", // unix socket path does not exist
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNRESET",
  "EPIPE",
  "EACCES", // unix socket exists but this user may not use it
  "EPERM",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
const TIMEOUT_CODES = new Set(["ETIMEDOUT", "ESOCKETTIMEDOUT", "UND_ERR_CONNECT_TIMEOUT"]);

export function dockerUnreachableMessage(dockerHost: string, cause: string): string {
  return (
    `Docker not reachable at ${dockerHost}: ${cause}. Set DOCKER_HOST or enable the Docker TCP API ` +
    `(OrbStack: Settings → Docker → "hosts": ["tcp://127.0.0.1:2375", "unix:///var/run/docker.sock"])`
  );
}

export function imageMissingMessage(imageName: string): string {
  return `Image ${imageName} not found. Build it with: pnpm snapshot:local-docker`;
}

/**
 * Returns the error to throw. A caller's own abort is passed through unchanged (it is not a provider
 * failure); HTTP statuses outside the typed set (400, 500) stay plain `Error`s carrying Docker's message,
 * so the tRPC layer logs them as unexpected.
 */
export function toProviderError(error: unknown, context: DockerCallContext): Error {
  if (context.callerSignal?.aborted) return asError(context.callerSignal.reason);
  const code = errorCode(error);
  if (context.deadline.aborted || (code !== undefined && TIMEOUT_CODES.has(code))) {
    return new ProviderError(
      "timeout",
      `Docker at ${context.dockerHost} did not finish "${context.operation}" within ${context.timeoutMs} ms. ` +
        `Check that the engine is running and responsive, or set DOCKER_HOST.`,
      { cause: error },
    );
  }
  if (code !== undefined && UNREACHABLE_CODES.has(code)) {
    return new ProviderError(
      "unreachable",
      dockerUnreachableMessage(context.dockerHost, `${code} (${context.operation})`),
      {
        cause: error,
      },
    );
  }
  const status = statusCode(error);
  const detail = dockerMessage(error);
  switch (status) {
    case 404:
      if (context.onNotFound)
        return new ProviderError(context.onNotFound.kind, context.onNotFound.message, { cause: error });
      return new ProviderError("not_found", `${context.operation}: not found (${detail})`, { cause: error });
    case 304:
      return new ProviderError("invalid_state", `${context.operation}: already in that state`, { cause: error });
    case 409:
      return new ProviderError("invalid_state", `${context.operation}: ${detail}`, { cause: error });
    case 429:
      return new ProviderError("rate_limited", `${context.operation}: Docker is rate limiting (${detail})`, {
        cause: error,
      });
    case undefined:
      return new Error(`Docker ${context.operation} failed: ${detail}`, { cause: error });
    default:
      return new Error(`Docker ${context.operation} failed (HTTP ${status}): ${detail}`, { cause: error });
  }
}

/** The HTTP status of a docker-modem error, if the engine answered at all. */
export function statusCode(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("statusCode" in error)) return undefined;
  return typeof error.statusCode === "number" ? error.statusCode : undefined;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  return typeof error.code === "string" ? error.code : undefined;
}

function dockerMessage(error: unknown): string {
  if (typeof error === "object" && error !== null && "json" in error) {
    const json: unknown = error.json;
    if (typeof json === "object" && json !== null && "message" in json && typeof json.message === "string") {
      return json.message;
    }
  }
  return error instanceof Error ? error.message : String(error);
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
