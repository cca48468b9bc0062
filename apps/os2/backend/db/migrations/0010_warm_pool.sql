CREATE TABLE "warm_pool_member" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"external_id" text,
	"pool_token_encrypted" text NOT NULL,
	"image_version" text NOT NULL,
	"profile" text NOT NULL,
	"cpu_millis" integer NOT NULL,
	"memory_mb" integer NOT NULL,
	"pids" integer NOT NULL,
	"disk_mb" integer,
	"state" text NOT NULL,
	"claimed_by" text,
	"state_changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
