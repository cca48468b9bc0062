/**
 * @os2/sdk: a typed client for the os2 control plane's HTTP API (`/api/v1`). Every answer is parsed with
 * the schemas of `@os2/protocol`; every failure is an `Os2Error`.
 */
export {
  AgentHandle,
  type CreateMachineOptions,
  EnvVars,
  type ExecOptions,
  type ExecOutput,
  type ListMachinesOptions,
  Machine,
  MachineAgents,
  MachineFiles,
  MachineLogs,
  type MachinePage,
  Machines,
  Os2,
  type Os2Options,
  type StartAgentOptions,
  type WaitOptions,
} from "./client";
export {
  codeForStatus,
  isOs2Error,
  MachineFailedError,
  Os2Error,
  Os2NetworkError,
  Os2ProtocolError,
  Os2TimeoutError,
} from "./errors";
export type { FetchLike } from "./http";
export { parseNdjson } from "./ndjson";
export { backoffDelay, DEFAULT_RETRY_POLICY, type RetryPolicy, shouldRetry } from "./retry";
export { captureLines, nextOutput, type ScreenCursor } from "./screen-diff";
export { Terminal, type TerminalOptions } from "./terminal";
