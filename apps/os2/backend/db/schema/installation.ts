import { pgTable } from "drizzle-orm/pg-core";

import { idColumn, timestamps } from "./columns.ts";

/**
 * This os2 installation: one row, made at first start. Its id is on every container and sandbox os2
 * creates (label `os2.installation`), so instances that share a Docker host or a Daytona organization only
 * ever adopt or remove their own machines; instances that share this database share it.
 */
export const installation = pgTable("installation", {
  id: idColumn(),
  ...timestamps,
});
