ALTER TABLE "machine" ADD COLUMN "env_changed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "machine" ADD COLUMN "env_applied_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "project" ADD COLUMN "env_changed_at" timestamp with time zone;