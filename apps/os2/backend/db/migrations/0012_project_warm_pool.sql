ALTER TABLE "project" ADD COLUMN "warm_pool_size" integer;--> statement-breakpoint
ALTER TABLE "warm_pool_member" ADD COLUMN "project_id" text;--> statement-breakpoint
ALTER TABLE "warm_pool_member" ADD CONSTRAINT "warm_pool_member_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;