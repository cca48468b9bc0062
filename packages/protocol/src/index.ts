/**
 * @os2/protocol: the wire contract between the control plane and the daemon that runs inside every machine.
 * Only zod schemas and their types live here, so neither side imports the other's code.
 */
export * from "./agents";
export * from "./common";
export * from "./exec";
export * from "./files";
export * from "./forward";
export * from "./health";
export * from "./logs";
export * from "./ports";
export * from "./resources";
export * from "./tmux";
