import { index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

import { user } from "./auth.ts";
import { idColumn, timestamps } from "./columns.ts";
import { machine } from "./machine.ts";

/**
 * A browser's way into a preview: the dashboard mints a ticket for one user, machine and port (single use,
 * valid for a minute); the preview origin exchanges it for a preview session, whose token lives in that
 * preview host's own HttpOnly cookie. Only SHA-256 hashes of tickets and session tokens are stored.
 */
export const previewTicket = pgTable(
  "preview_ticket",
  {
    id: idColumn(),
    tokenHash: text("token_hash").notNull().unique(),
    userId: text("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    machineId: text("machine_id")
      .notNull()
      .references(() => machine.id, { onDelete: "cascade" }),
    port: integer("port").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    ...timestamps,
  },
  (t) => [index("preview_ticket_expires_idx").on(t.expiresAt)],
);

export const previewSession = pgTable(
  "preview_session",
  {
    id: idColumn(),
    tokenHash: text("token_hash").notNull().unique(),
    userId: text("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    machineId: text("machine_id")
      .notNull()
      .references(() => machine.id, { onDelete: "cascade" }),
    port: integer("port").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    ...timestamps,
  },
  (t) => [index("preview_session_machine_idx").on(t.machineId)],
);
