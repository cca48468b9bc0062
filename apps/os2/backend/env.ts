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

/** CPUs as a decimal number of cores ("0.5", "2"), kept as thousandths. */
function cpusSchema() {
  return z.coerce
    .number()
    .min(0.1, "Use at least 0.1 CPU (e.g. 0.5 or 2)")
    .max(256, "Use at most 256 CPUs")
    .transform((cpus) => Math.round(cpus * 1000));
}

/** Sizes like "512m", "2g", "2GiB" or plain bytes, kept as MiB. */
function bytesSchema() {
  return z.string().transform((value, ctx) => {
    const mib = parseSizeMiB(value);
    if (mib === null || mib < 64) {
      ctx.addIssue({ code: "custom", message: "Use a size such as 512m or 2g (at least 64m)" });
      return z.NEVER;
    }
    return mib;
  });
}

export function parseSizeMiB(value: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(value);
  if (!match) return null;
  const amount = Number(match[1]);
  const unit = (match[2] ?? "").toLowerCase();
  const bytes = amount * { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[unit]!;
  return Math.floor(bytes / 1024 ** 2);
}

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
  /** The fixed code 424242 for `+test@` addresses; unset means on for local-… and dev-… stages only. */
  OS2_TEST_OTP: z
    .enum(["true", "false", ""])
    .optional()
    .transform((value) => (value === "true" ? true : value === "false" ? false : undefined)),
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
  /** How old a machine of this installation without a row must be before the reconciler removes it. */
  OS2_ORPHAN_GRACE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(5 * 60_000),
  /** A machine still creating/starting/stopping/deleting this long while the reconciler fails goes to error. */
  OS2_STUCK_AFTER_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(10 * 60_000),
  /** Isolation profile of new machines: `standard` (non-root user with sudo) or `strict` (no sudo at all). */
  OS2_MACHINE_PROFILE: z.enum(["standard", "strict"]).default("standard"),
  /** Defaults for a new machine, unless its project or its create request says otherwise. */
  OS2_MACHINE_CPUS: cpusSchema().prefault("2"),
  OS2_MACHINE_MEMORY: bytesSchema().prefault("2g"),
  OS2_MACHINE_PIDS: z.coerce.number().int().min(64).max(1_000_000).default(1024),
  /** Per-machine writable-layer quota; only enforced where Docker's storage driver supports one. */
  OS2_MACHINE_DISK: bytesSchema().optional(),
  /** The most any machine may ask for (organizations may be given less, never more). */
  OS2_MAX_MACHINE_CPUS: cpusSchema().prefault("4"),
  OS2_MAX_MACHINE_MEMORY: bytesSchema().prefault("8g"),
  OS2_MAX_MACHINE_PIDS: z.coerce.number().int().min(64).max(1_000_000).default(4096),
  OS2_MAX_RUNNING_MACHINES_PER_ORG: z.coerce.number().int().min(1).max(100_000).default(10),
  /**
   * Local machines booted ahead of demand (services/machines/warm-pool.ts), per installation: a create
   * claims one in milliseconds instead of booting a container. 0 turns the pool off.
   */
  OS2_WARM_POOL_SIZE: z.coerce.number().int().min(0).max(100).default(2),
  /**
   * The most warm machines one project may keep for itself (its settings page), on top of the shared pool;
   * 0 lets no project keep any.
   */
  OS2_WARM_POOL_PROJECT_MAX: z.coerce.number().int().min(0).max(100).default(3),
  /** The most warm machines all projects together keep for themselves, shared out fairly across them. */
  OS2_WARM_POOL_RESERVED_MAX: z.coerce.number().int().min(0).max(1000).default(6),
  /**
   * How long a page of a machine list is served to every caller without reading it again
   * (services/machines/list-cache.ts); any change os2 publishes for the organization ends it at once.
   * 0 reads every page from the database.
   */
  OS2_MACHINE_LIST_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  /**
   * How long who a session is, and who may reach which project (and so a machine's doors), is reused
   * without reading it again (services/access-cache.ts). A change made on any instance ends it at once
   * (services/access-peers.ts); this is the bound when the news cannot arrive. 0 reads on every request.
   */
  OS2_ACCESS_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
  /**
   * Live log and usage streams this server holds open at once, all callers together (each user and each
   * access token also has 32 of its own); the next is answered 503 until one ends.
   */
  OS2_MAX_LIVE_STREAMS: z.coerce.number().int().min(1).max(1_000_000).default(2_000),
  /** A warm-pool machine older than this is replaced by a fresh one. */
  OS2_WARM_POOL_MAX_AGE_MS: z.coerce
    .number()
    .int()
    .min(10_000)
    .default(6 * 60 * 60_000),
  /** Docker network every local machine joins; os2 creates it with inter-container traffic disabled. */
  OS2_MACHINE_NETWORK: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/)
    .default("os2-machines"),
  /** Container runtime of local machines (`runc`; a stronger one such as gVisor's `runsc` where it works). */
  OS2_MACHINE_RUNTIME: z
    .string()
    .regex(/^[a-zA-Z0-9_.-]{1,64}$/)
    .default("runc"),
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
