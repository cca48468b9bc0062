import { type ApiErrorCode, apiErrorCodeFor, type ApiMachine, type MachineState } from "@os2/protocol";

/**
 * Every failure the SDK reports. `status` is the HTTP status of the answer, or 0 when there was none (the
 * request never got an answer, or the failure is the SDK's own, such as a wait that timed out).
 */
export class Os2Error extends Error {
  override name = "Os2Error";
  readonly status: number;
  readonly code: ApiErrorCode;
  /** The offending input (a dotted path), when the server named one. */
  readonly field: string | undefined;

  constructor(init: { status: number; code: ApiErrorCode; message: string; field?: string; cause?: unknown }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.field = init.field;
  }

  /** `message (field: x)`: what a person should read. */
  describe(): string {
    return this.field ? `${this.message} (field: ${this.field})` : this.message;
  }
}

/** The server could not be reached, or the connection broke before an answer. */
export class Os2NetworkError extends Os2Error {
  override name = "Os2NetworkError";
  constructor(message: string, cause: unknown) {
    super({ status: 0, code: "unavailable", message, cause });
  }
}

/** The server answered something that does not match the API's schema (version skew, or a proxy's page). */
export class Os2ProtocolError extends Os2Error {
  override name = "Os2ProtocolError";
  constructor(status: number, message: string) {
    super({ status, code: "bad_gateway", message });
  }
}

/** A wait (`waitUntil`, `create({ wait: true })`) ran out of time. */
export class Os2TimeoutError extends Os2Error {
  override name = "Os2TimeoutError";
  constructor(message: string) {
    super({ status: 0, code: "timeout", message });
  }
}

/** A machine that was being waited for went to `error` instead. `machine.lastError` says why. */
export class MachineFailedError extends Os2Error {
  override name = "MachineFailedError";
  readonly machine: ApiMachine;
  constructor(machine: ApiMachine, waitingFor: MachineState) {
    super({
      status: 0,
      code: "precondition_failed",
      message: `machine ${machine.name} (${machine.id}) went to error while waiting for ${waitingFor}${
        machine.lastError ? `: ${machine.lastError}` : ""
      }`,
    });
    this.machine = machine;
  }
}

/** True when `error` is an `Os2Error`, with the given code when one is given. */
export function isOs2Error(error: unknown, code?: ApiErrorCode): error is Os2Error {
  return error instanceof Os2Error && (code === undefined || error.code === code);
}

/** The code for an error answer without a parseable body (a proxy's HTML page, an empty 502). */
export function codeForStatus(status: number): ApiErrorCode {
  return apiErrorCodeFor(status);
}
