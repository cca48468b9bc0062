import { defineConfig } from "drizzle-kit";

// Migrations are generated from the schema with `pnpm --filter os2 db:generate`, committed, and applied
// at start (db/client.ts). Never edit the generated SQL by hand.
export default defineConfig({
  dialect: "postgresql",
  schema: "./backend/db/schema/index.ts",
  out: "./backend/db/migrations",
});
