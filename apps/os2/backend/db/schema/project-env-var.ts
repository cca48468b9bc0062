import { sql } from "drizzle-orm";
import { index, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";

import { idColumn, timestamps } from "./columns.ts";
import { machine } from "./machine.ts";
import { project } from "./project.ts";

export type EnvVarType = "user" | "system";

export const projectEnvVar = pgTable(
  "project_env_var",
  {
    id: idColumn(),
    projectId: text("project_id")
      .notNull()
      .references(() => project.id, { onDelete: "cascade" }),
    /** When set, the var only applies to this machine and overrides the project-wide value. */
    machineId: text("machine_id").references(() => machine.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    valueEncrypted: text("value_encrypted").notNull(),
    type: text("type").$type<EnvVarType>().notNull().default("user"),
    ...timestamps,
  },
  // One value per key and project, and per key and machine override. Two partial indexes rather than
  // NULLS NOT DISTINCT, which would need PostgreSQL 15.
  (t) => [
    index("env_var_project_idx").on(t.projectId),
    uniqueIndex("env_var_project_key_uq")
      .on(t.projectId, t.key)
      .where(sql`${t.machineId} is null`),
    uniqueIndex("env_var_machine_key_uq")
      .on(t.projectId, t.machineId, t.key)
      .where(sql`${t.machineId} is not null`),
  ],
);
