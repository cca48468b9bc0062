ALTER TABLE "machine" ADD COLUMN "cpu_millis" integer;--> statement-breakpoint
ALTER TABLE "machine" ADD COLUMN "memory_mb" integer;--> statement-breakpoint
ALTER TABLE "machine" ADD COLUMN "pids" integer;--> statement-breakpoint
ALTER TABLE "machine" ADD COLUMN "disk_mb" integer;--> statement-breakpoint
ALTER TABLE "machine" ADD COLUMN "profile" text;--> statement-breakpoint
ALTER TABLE "organization" ADD COLUMN "max_cpu_millis" integer;--> statement-breakpoint
ALTER TABLE "organization" ADD COLUMN "max_memory_mb" integer;--> statement-breakpoint
ALTER TABLE "organization" ADD COLUMN "max_pids" integer;--> statement-breakpoint
ALTER TABLE "organization" ADD COLUMN "max_running_machines" integer;--> statement-breakpoint
ALTER TABLE "project" ADD COLUMN "machine_cpu_millis" integer;--> statement-breakpoint
ALTER TABLE "project" ADD COLUMN "machine_memory_mb" integer;--> statement-breakpoint
ALTER TABLE "project" ADD COLUMN "machine_pids" integer;