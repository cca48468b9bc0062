import { integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

import { idColumn, timestamps } from "./columns.ts";
import { project } from "./project.ts";

/** booting: its container is being made or boots; ready: healthy, waiting; claiming: being handed to a machine. */
export type WarmPoolMemberState = "booting" | "ready" | "claiming";

/**
 * A warm-pool machine: a container booted ahead of demand from the current image, profile and default
 * limits, owned by this installation and holding no project's data. A member with a `project_id` is kept
 * for that project (its warm-pool size), booted with the project's default limits and claimed only by it;
 * the reservation lives in this row alone, never in the container. Its container carries `os2.pool=true` and
 * `os2.machine-id=<this row's id>` (labels cannot change later). At claim the machine's row takes the
 * container as its `external_id` and this row is deleted, in one transaction: from then on the machine
 * row's `external_id` is what ties the container to its machine (the reconciler matches by it).
 */
export const warmPoolMember = pgTable("warm_pool_member", {
  id: idColumn(),
  type: text("type").notNull(),
  /** The project it is kept for; null: the shared pool. A deleted project takes its rows with it. */
  projectId: text("project_id").references(() => project.id, { onDelete: "cascade" }),
  externalId: text("external_id"),
  /** The member's one-time credential (`OS2_POOL_TOKEN`), accepted only by its daemon's `PUT /api/claim`. */
  poolTokenEncrypted: text("pool_token_encrypted").notNull(),
  /** The image it booted from (the provider's image version); a newer image drains it. */
  imageVersion: text("image_version").notNull(),
  profile: text("profile").notNull(),
  cpuMillis: integer("cpu_millis").notNull(),
  memoryMb: integer("memory_mb").notNull(),
  pids: integer("pids").notNull(),
  diskMb: integer("disk_mb"),
  state: text("state").$type<WarmPoolMemberState>().notNull(),
  /** The machine it is being handed to, while `claiming`. */
  claimedBy: text("claimed_by"),
  stateChangedAt: timestamp("state_changed_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  ...timestamps,
});
