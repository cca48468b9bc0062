-- Before machine names become unique per project (next migration): give every later duplicate a suffix
-- of its id, so existing installations keep all their machines and can tell them apart.
UPDATE "machine" AS m
SET "name" = left(m."name", 50) || '-' || right(m."id", 6)
FROM (
  SELECT "id", row_number() OVER (PARTITION BY "project_id", "name" ORDER BY "created_at", "id") AS n
  FROM "machine"
) AS ranked
WHERE ranked."id" = m."id" AND ranked.n > 1;
--> statement-breakpoint
-- The same for env vars set twice for one key (the service used to keep them unique on its own).
DELETE FROM "project_env_var" AS v
USING (
  SELECT "id", row_number() OVER (PARTITION BY "project_id", "machine_id", "key" ORDER BY "updated_at" DESC, "id") AS n
  FROM "project_env_var"
) AS ranked
WHERE ranked."id" = v."id" AND ranked.n > 1;
