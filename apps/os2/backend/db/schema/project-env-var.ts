import { index, pgTable, text } from "drizzle-orm/pg-core";

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
  // Uniqueness of (project, machine-or-null, key) is enforced in the service: Postgres treats NULLs as
  // distinct in unique indexes, and PGlite's NULLS NOT DISTINCT support would tie us to PG 15+.
  (t) => [index("env_var_project_idx").on(t.projectId)],
);
