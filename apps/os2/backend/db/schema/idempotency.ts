import { pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

import { project } from "./project.ts";

/**
 * Idempotency keys of `POST /api/v1/machines`: the first request with a key reserves it (machine_id still
 * null) and records the machine it made; a retry with the same key answers that machine instead of making
 * another. Keys live 24 hours. The primary key makes two racing requests with one key end as one create.
 */
export const apiIdempotencyKey = pgTable(
  "api_idempotency_key",
  {
    projectId: text("project_id")
      .notNull()
      .references(() => project.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    machineId: text("machine_id"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.key] })],
);
