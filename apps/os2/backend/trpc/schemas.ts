/** Input schemas shared by routers. Messages say what is wrong and what is allowed. */
import { z } from "zod";

import { ENV_KEY_PATTERN, ENV_VALUE_MAX_BYTES, isSystemEnvKey } from "../services/env-vars.ts";
import { SLUG_PATTERN } from "../services/slugs.ts";

/**
 * Whether `value` holds a C0 control character (U+0000–U+001F) or DEL, other than those in `allowed`.
 * PostgreSQL's text cannot hold NUL at all; the others have no place in a name and hide in logs and UIs.
 */
export function hasControlCharacter(value: string, allowed = ""): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 || code === 0x7f) && !allowed.includes(value.charAt(i))) return true;
  }
  return false;
}

const NO_CONTROL_CHARACTERS = "Must not contain control characters";

/**
 * A string with no control characters. The check runs first and stops the others, so the message names
 * that problem alone; further checks (`.trim()`, `.max()`, `.regex()`) chain after it.
 */
export const plainTextSchema = () =>
  z.string().refine((value) => !hasControlCharacter(value), { message: NO_CONTROL_CHARACTERS, abort: true });

export const slugSchema = plainTextSchema().regex(
  SLUG_PATTERN,
  "Use 1–48 lowercase letters, digits or dashes, starting and ending with a letter or digit",
);

/** Names of people, organizations, projects and tokens. Surrounding whitespace (a pasted newline) is trimmed. */
export const nameSchema = z
  .string()
  .trim()
  .refine((value) => !hasControlCharacter(value), { message: NO_CONTROL_CHARACTERS, abort: true })
  .min(1, "Must not be empty")
  .max(100, "Must be at most 100 characters");

export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .refine((value) => !hasControlCharacter(value), { message: NO_CONTROL_CHARACTERS, abort: true })
  .max(254, "Must be at most 254 characters")
  .email("Must be an email address");

export const envKeySchema = plainTextSchema()
  .max(256, "Must be at most 256 characters")
  .regex(ENV_KEY_PATTERN, "Use uppercase letters, digits and underscores, not starting with a digit (e.g. API_TOKEN)")
  .refine((key) => !isSystemEnvKey(key), {
    error: (issue) =>
      `${String(issue.input)} is set by os2 on every machine and cannot be overridden: choose another name`,
  });

/**
 * Values may span lines (PEM keys and other multi-line secrets): tabs, line feeds and carriage returns are
 * kept. NUL never: a process environment cannot carry it, nor can PostgreSQL's text.
 */
export const envValueSchema = z
  .string()
  .refine((value) => !value.includes("\u0000"), {
    message: "Must not contain NUL characters (\\0); line breaks and tabs are fine",
    abort: true,
  })
  .refine((value) => Buffer.byteLength(value, "utf8") <= ENV_VALUE_MAX_BYTES, "Must be at most 64 KiB");

export const idSchema = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}_[0-9a-z]{26}$`), `Must be an id starting with ${prefix}_`);

export const organizationRoleSchema = z.enum(["owner", "admin", "member"]);

/** Limits a caller may ask for; each within the organization's maximum, which the service checks. */
export const machineLimitsSchema = z.object({
  cpus: z.number().min(0.1, "Use at least 0.1 CPU").max(256, "Use at most 256 CPUs").optional(),
  memoryMb: z.number().int().min(128, "Use at least 128 MiB").max(1_048_576, "Use at most 1 TiB").optional(),
  pids: z
    .number()
    .int()
    .min(64, "Allow at least 64 processes")
    .max(1_000_000, "Allow at most 1,000,000 processes")
    .optional(),
});
export type MachineLimitsInput = z.infer<typeof machineLimitsSchema>;

/** The service's units: CPUs in thousandths. */
export function toLimitsRequest(input: MachineLimitsInput | undefined) {
  return {
    ...(input?.cpus === undefined ? {} : { cpuMillis: Math.round(input.cpus * 1000) }),
    ...(input?.memoryMb === undefined ? {} : { memoryMb: input.memoryMb }),
    ...(input?.pids === undefined ? {} : { pids: input.pids }),
  };
}
