import { integer, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

import { idColumn, timestamps } from "./columns.ts";
import { organization } from "./organization.ts";

export const project = pgTable(
  "project",
  {
    id: idColumn(),
    organizationId: text("organization_id")
      .notNull()
      .references(() => organization.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    slug: text("slug").notNull(),
    /** The project's defaults for new machines; null means the installation's (OS2_MACHINE_*). */
    machineCpuMillis: integer("machine_cpu_millis"),
    machineMemoryMb: integer("machine_memory_mb"),
    machinePids: integer("machine_pids"),
    /**
     * Warm-pool machines kept booted for this project alone (warm_pool_member.project_id), on top of the
     * installation's shared pool; null or 0: none. Capped by OS2_WARM_POOL_PROJECT_MAX.
     */
    warmPoolSize: integer("warm_pool_size"),
    /** When a project-wide env var was last set or deleted; running machines started before it need a restart. */
    envChangedAt: timestamp("env_changed_at", { withTimezone: true }),
    ...timestamps,
  },
  (t) => [uniqueIndex("project_org_slug_uq").on(t.organizationId, t.slug)],
);
