/**
 * The control plane's configuration: every environment variable it reads, validated once at the entry
 * point and passed down as arguments. Nothing else in the backend reads process.env.
 * The README's configuration table mirrors this file.
 */
import { z } from "zod";

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value?.trim() ? value.trim() : undefined));

export const envSchema = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(3001),
  HOST: z.string().default("127.0.0.1"),
  /** Public URL of the dashboard; better-auth's base URL. Defaults to http://localhost:$PORT. */
  OS2_PUBLIC_URL: optionalString,
  /** Origin template of machine previews, with {port} and {machine}; default http://{port}--{machine}.localhost:$PORT. */
  OS2_PREVIEW_URL: optionalString.refine(
    (value) => value === undefined || (value.includes("{port}") && value.includes("{machine}")),
    "Must contain {port} and {machine}, e.g. https://{port}--{machine}.preview.example.com",
  ),
  OS2_DATA_DIR: z.string().default(".data"),
  DATABASE_URL: optionalString,
  ENCRYPTION_SECRET: optionalString,
  BETTER_AUTH_SECRET: optionalString,
  ITERATE_USER: optionalString,
  APP_STAGE: optionalString,
  SMTP_URL: optionalString,
  SMTP_FROM: z.string().default("os2 <no-reply@localhost>"),
  GOOGLE_CLIENT_ID: optionalString,
  GOOGLE_CLIENT_SECRET: optionalString,
  ALLOW_SIGNUP_FROM_EMAILS: optionalString,
  OS2_ADMIN_EMAILS: optionalString,
  OTP_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(10),
  /** Set to "true" behind a reverse proxy that sets X-Forwarded-For; otherwise the socket address is used. */
  OS2_TRUST_PROXY: z
    .enum(["true", "false", ""])
    .optional()
    .transform((value) => value === "true"),
  DOCKER_HOST: optionalString,
  LOCAL_DOCKER_IMAGE_NAME: z.string().default("iterate-sandbox:local"),
  DAYTONA_API_KEY: optionalString,
  DAYTONA_API_URL: optionalString,
  DAYTONA_ORGANIZATION_ID: optionalString,
  DAYTONA_SNAPSHOT_PREFIX: optionalString,
  DAYTONA_AUTO_STOP_MINUTES: z.coerce.number().int().min(0).default(30),
  RECONCILE_INTERVAL_MS: z.coerce.number().int().min(250).default(5000),
  POSTHOG_KEY: optionalString,
  POSTHOG_HOST: z.string().default("https://eu.i.posthog.com"),
  VITE_POSTHOG_PUBLIC_KEY: optionalString,
  VITE_POSTHOG_PROXY_URI: z.string().default("/ingest"),
  VITE_APP_STAGE: optionalString,
});

export type Env = z.infer<typeof envSchema>;

export function parseEnv(source: Record<string, string | undefined>): Env {
  const result = envSchema.safeParse(source);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
  throw new Error(`Invalid configuration:\n${lines.join("\n")}\nFix these environment variables (see README.md).`);
}
