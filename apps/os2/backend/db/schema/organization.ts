import { index, integer, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";

import { user } from "./auth.ts";
import { idColumn, timestamps } from "./columns.ts";

export const organization = pgTable("organization", {
  id: idColumn(),
  name: text("name").notNull(),
  slug: text("slug").notNull().unique(),
  /** Set by system administrators; null means the installation's maximum (OS2_MAX_*). */
  maxCpuMillis: integer("max_cpu_millis"),
  maxMemoryMb: integer("max_memory_mb"),
  maxPids: integer("max_pids"),
  maxRunningMachines: integer("max_running_machines"),
  ...timestamps,
});

export type OrganizationRole = "owner" | "admin" | "member";
export const ORGANIZATION_ROLES = ["owner", "admin", "member"] as const;

export const organizationMembership = pgTable(
  "organization_membership",
  {
    id: idColumn(),
    organizationId: text("organization_id")
      .notNull()
      .references(() => organization.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    role: text("role").$type<OrganizationRole>().notNull(),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("membership_org_user_uq").on(t.organizationId, t.userId),
    index("membership_user_idx").on(t.userId),
  ],
);
