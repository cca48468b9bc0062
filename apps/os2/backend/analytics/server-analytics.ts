/**
 * Server-side product analytics: a thin wrapper over posthog-node.
 *
 * Two guarantees live here rather than at call sites, because call sites are many and easy to get wrong:
 * - **No key, no calls.** Without an API key, PostHog is never constructed, so there is no network traffic
 *   at all (not even a flags or config request).
 * - **Nothing sensitive by name.** Every event passes `dropSensitiveProperties` right before it is handed to
 *   posthog-node, a second line of defence behind each tracked mutation's own `extractProperties`.
 *
 * Every event carries `$environment: stage`, so one PostHog project can serve all stages (filter on it).
 */
import { PostHog } from "posthog-node";

export interface ServerAnalyticsOptions {
  /** PostHog project API key (`POSTHOG_KEY`). Absent or empty turns analytics off entirely. */
  apiKey?: string;
  /** PostHog ingestion host (`POSTHOG_HOST`). Defaults to EU ingestion. */
  host?: string;
  /** Deployment stage (`local-…`, `dev-…`, `stg`, `prd`, `pr-…`), sent as `$environment`. */
  stage: string;
  /** Events per request; posthog-node's default is 20. */
  flushAt?: number;
  /** Milliseconds between flushes; posthog-node's default is 5000. */
  flushInterval?: number;
}

/** Group keys for PostHog group analytics; only the types os2 defines. */
export interface AnalyticsGroups {
  organization?: string;
  project?: string;
}

export interface CaptureInput {
  /** The internal user id, the same id the SPA passes to `identify`. */
  distinctId: string;
  event: string;
  properties?: Record<string, unknown>;
  groups?: AnalyticsGroups;
}

export interface ServerAnalytics {
  /** "disabled" when no API key was given: capture and shutdown then do nothing. */
  readonly state: "enabled" | "disabled";
  /** Queues an event; never throws and never waits on the network. */
  capture(input: CaptureInput): void;
  /** Flushes queued events and stops timers. Call on server shutdown, and in tests before asserting. */
  shutdown(): Promise<void>;
}

export const DEFAULT_POSTHOG_HOST = "https://eu.i.posthog.com";

/**
 * Case-insensitive substrings that mark a property name as sensitive. Deliberately broad: dropping a harmless
 * `keyboard_layout` costs little, sending an env var `value` or an access `token` cannot be undone.
 */
const SENSITIVE_NAME_PARTS = [
  "password",
  "token",
  "secret",
  "key",
  "value",
  "authorization",
  "cookie",
  "credential",
] as const;

/** How long shutdown waits for the last flush, so a down PostHog cannot stall server shutdown. */
const SHUTDOWN_TIMEOUT_MS = 5_000;

export function createServerAnalytics(options: ServerAnalyticsOptions): ServerAnalytics {
  if (options.apiKey === undefined || options.apiKey === "") {
    return { state: "disabled", capture: () => undefined, shutdown: async () => undefined };
  }

  const client = new PostHog(options.apiKey, {
    host: options.host ?? DEFAULT_POSTHOG_HOST,
    ...(options.flushAt === undefined ? {} : { flushAt: options.flushAt }),
    ...(options.flushInterval === undefined ? {} : { flushInterval: options.flushInterval }),
  });

  return {
    state: "enabled",
    capture({ distinctId, event, properties = {}, groups }) {
      const definedGroups = Object.fromEntries(
        Object.entries(groups ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
      );
      client.capture({
        distinctId,
        event,
        // $environment goes last so a caller's property cannot relabel the stage.
        properties: { ...dropSensitiveProperties(properties), $environment: options.stage },
        ...(Object.keys(definedGroups).length > 0 ? { groups: definedGroups } : {}),
      });
    },
    shutdown: () => client.shutdown(SHUTDOWN_TIMEOUT_MS),
  };
}

/**
 * Returns a copy without any property whose name looks sensitive, at every depth (objects and arrays).
 * PostHog's own `$`-prefixed names (`$groups`, `$environment`, `$set`…) are kept by name, since several
 * contain a flagged word, but their contents are still filtered.
 */
export function dropSensitiveProperties(properties: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(properties)) {
    if (!name.startsWith("$") && isSensitiveName(name)) continue;
    result[name] = filterValue(value);
  }
  return result;
}

function filterValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(filterValue);
  if (isPlainObject(value)) return dropSensitiveProperties(value);
  return value;
}

function isSensitiveName(name: string): boolean {
  const lower = name.toLowerCase();
  return SENSITIVE_NAME_PARTS.some((part) => lower.includes(part));
}

/** Only plain objects are walked: a Date or class instance is passed through for posthog-node to serialise. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
