/**
 * @os2/protocol: the wire contract between the control plane and the daemon that runs inside every machine.
 * Only zod schemas and their types live here, so neither side imports the other's code.
 */
export * from "./common";
export * from "./health";
export * from "./exec";
export * from "./files";
export * from "./tmux";
export * from "./agents";
export * from "./logs";
