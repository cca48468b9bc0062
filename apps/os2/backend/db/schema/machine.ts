import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

import { idColumn, timestamps } from "./columns.ts";
import { project } from "./project.ts";

export type MachineDesiredState = "running" | "stopped" | "archived" | "deleted";
export type MachineObservedState =
  "creating" | "starting" | "running" | "stopping" | "stopped" | "archived" | "error" | "deleting";
export type MachineEventReason = "user" | "reconciler" | "provider" | "health";

export const machine = pgTable(
  "machine",
  {
    id: idColumn(),
    projectId: text("project_id")
      .notNull()
      .references(() => project.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    type: text("type").$type<"local-docker" | "daytona">().notNull(),
    desiredState: text("desired_state").$type<MachineDesiredState>().notNull(),
    observedState: text("observed_state").$type<MachineObservedState>().notNull(),
    externalId: text("external_id"),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    /** The daemon's credential (MACHINE_AUTH_TOKEN), AES-256-GCM encrypted. */
    authTokenEncrypted: text("auth_token_encrypted").notNull(),
    createdBy: text("created_by"),
    startRequestedAt: timestamp("start_requested_at", { withTimezone: true }),
    readyAt: timestamp("ready_at", { withTimezone: true }),
    lastError: text("last_error"),
    /** The limits and isolation profile it was created with (null for machines made before they existed). */
    cpuMillis: integer("cpu_millis"),
    memoryMb: integer("memory_mb"),
    pids: integer("pids"),
    diskMb: integer("disk_mb"),
    profile: text("profile").$type<"standard" | "strict">(),
    /**
     * The machine's environment: `envChangedAt` when one of its own overrides last changed, `envAppliedAt` when
     * its daemon last took the resolved environment (at every start, before it counts as running). A machine
     * whose env changed after it was applied (its own, or its project's `envChangedAt`) shows "restart to apply".
     */
    envChangedAt: timestamp("env_changed_at", { withTimezone: true }),
    envAppliedAt: timestamp("env_applied_at", { withTimezone: true }),
    /** OOM kills the daemon had reported when os2 last looked; new ones become machine events. */
    oomKills: integer("oom_kills").notNull().default(0),
    /**
     * Which os2 process is working on this machine right now, until when: several instances on one
     * database never drive one machine at once. Renewed while the work lasts; a dead holder's lease lapses.
     */
    leaseOwner: text("lease_owner"),
    leaseExpiresAt: timestamp("lease_expires_at", { withTimezone: true }),
    ...timestamps,
  },
  (t) => [
    // The list's keyset order (machine-list.ts): a project's machines newest first, a page from any point.
    // It serves every other lookup by project as well.
    index("machine_project_created_idx").on(t.projectId, t.createdAt, t.id),
    // Two machines of one project must be told apart by name.
    uniqueIndex("machine_project_name_uq").on(t.projectId, t.name),
  ],
);

export const machineEvent = pgTable(
  "machine_event",
  {
    id: idColumn(),
    machineId: text("machine_id")
      .notNull()
      .references(() => machine.id, { onDelete: "cascade" }),
    fromState: text("from_state"),
    toState: text("to_state").notNull(),
    reason: text("reason").$type<MachineEventReason>().notNull(),
    detail: text("detail"),
    durationMs: integer("duration_ms"),
    ...timestamps,
  },
  (t) => [index("machine_event_machine_idx").on(t.machineId)],
);

/** Daytona preview tokens per machine and port, encrypted; re-fetched on a miss or a 401. */
export const previewTokenCache = pgTable(
  "preview_token_cache",
  {
    id: idColumn(),
    machineId: text("machine_id")
      .notNull()
      .references(() => machine.id, { onDelete: "cascade" }),
    port: integer("port").notNull(),
    url: text("url").notNull(),
    tokenEncrypted: text("token_encrypted").notNull(),
    ...timestamps,
  },
  (t) => [index("preview_token_machine_port_idx").on(t.machineId, t.port)],
);
