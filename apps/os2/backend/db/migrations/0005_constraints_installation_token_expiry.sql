CREATE TABLE "installation" (
	"id" text PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "project_access_token" ADD COLUMN "expires_at" timestamp with time zone;--> statement-breakpoint
CREATE UNIQUE INDEX "machine_project_name_uq" ON "machine" USING btree ("project_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "env_var_project_key_uq" ON "project_env_var" USING btree ("project_id","key") WHERE "project_env_var"."machine_id" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "env_var_machine_key_uq" ON "project_env_var" USING btree ("project_id","machine_id","key") WHERE "project_env_var"."machine_id" is not null;