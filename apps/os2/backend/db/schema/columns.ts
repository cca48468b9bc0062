import { text, timestamp } from "drizzle-orm/pg-core";

/** Every row carries createdAt and updatedAt; updatedAt is bumped by Drizzle on update. */
export const timestamps = {
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" })
    .notNull()
    .defaultNow()
    .$onUpdate(() => new Date()),
};

export const idColumn = () => text("id").primaryKey();
