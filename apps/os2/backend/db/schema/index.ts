export * from "./auth.ts";
export * from "./installation.ts";
export * from "./machine.ts";
export * from "./organization.ts";
export * from "./preview.ts";
export * from "./project.ts";
export * from "./project-access-token.ts";
export * from "./project-env-var.ts";
