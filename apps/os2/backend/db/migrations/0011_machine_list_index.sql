DROP INDEX "machine_project_idx";--> statement-breakpoint
CREATE INDEX "machine_project_created_idx" ON "machine" USING btree ("project_id","created_at","id");