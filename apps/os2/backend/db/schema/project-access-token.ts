import { index, pgTable, text, timestamp } from "drizzle-orm/pg-core";

import { user } from "./auth.ts";
import { idColumn, timestamps } from "./columns.ts";
import { project } from "./project.ts";

export const projectAccessToken = pgTable(
  "project_access_token",
  {
    id: idColumn(),
    projectId: text("project_id")
      .notNull()
      .references(() => project.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** SHA-256 hex of the raw token; the raw `pat_…` value is shown once and never stored. */
    tokenHash: text("token_hash").notNull().unique(),
    createdBy: text("created_by").references(() => user.id, { onDelete: "set null" }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    /** Null: never expires. New tokens get one by default (see services/access-tokens.ts). */
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    ...timestamps,
  },
  (t) => [index("access_token_project_idx").on(t.projectId)],
);
