import { pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";

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
    ...timestamps,
  },
  (t) => [uniqueIndex("project_org_slug_uq").on(t.organizationId, t.slug)],
);
