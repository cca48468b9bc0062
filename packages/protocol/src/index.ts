/**
 * @os2/protocol: the wire contracts of os2: between the control plane and the daemon inside every machine,
 * and of the control plane's public HTTP API (api.ts), which the SDK speaks.
 * Only zod schemas and their types live here, so neither side imports the other's code.
 */
export * from "./agents";
export * from "./api";
export * from "./claim";
export * from "./common";
export * from "./env";
export * from "./exec";
export * from "./files";
export * from "./forward";
export * from "./health";
export * from "./logs";
export * from "./ports";
export * from "./resources";
export * from "./tmux";
