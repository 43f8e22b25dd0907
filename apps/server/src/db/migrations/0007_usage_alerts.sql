CREATE TABLE "credit_alerts" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"kind" text NOT NULL,
	"cause_key" text NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"acknowledged_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "credit_settings" (
	"org_id" text PRIMARY KEY NOT NULL,
	"low_balance_threshold" integer,
	"low_balance_percent" integer,
	"low_balance_alerted" boolean DEFAULT false NOT NULL,
	"low_balance_crossings" integer DEFAULT 0 NOT NULL,
	"unusual_usage_factor" double precision,
	"unusual_usage_alerted_hour" timestamp with time zone,
	"auto_top_up_enabled" boolean DEFAULT false NOT NULL,
	"auto_top_up_threshold" integer,
	"auto_top_up_pack" text,
	"auto_top_up_in_flight" text,
	"auto_top_up_started_at" timestamp with time zone,
	"auto_top_up_attempts" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_usage_hours" (
	"org_id" text NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"consumed" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "credit_usage_hours_org_id_hour_pk" PRIMARY KEY("org_id","hour")
);
--> statement-breakpoint
CREATE TABLE "metered_usage" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"addon_key" text NOT NULL,
	"meter_event_name" text NOT NULL,
	"quantity" integer NOT NULL,
	"idempotency_key" text,
	"identifier" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"reported_at" timestamp with time zone,
	"report_attempts" integer DEFAULT 0 NOT NULL,
	"next_report_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_error" text,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "credit_alerts" ADD CONSTRAINT "credit_alerts_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_settings" ADD CONSTRAINT "credit_settings_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_usage_hours" ADD CONSTRAINT "credit_usage_hours_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metered_usage" ADD CONSTRAINT "metered_usage_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "credit_alerts_cause_key" ON "credit_alerts" USING btree ("cause_key");--> statement-breakpoint
CREATE INDEX "credit_alerts_org_idx" ON "credit_alerts" USING btree ("org_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "metered_usage_identifier" ON "metered_usage" USING btree ("identifier");--> statement-breakpoint
CREATE UNIQUE INDEX "metered_usage_key" ON "metered_usage" USING btree ("org_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "metered_usage_unreported_idx" ON "metered_usage" USING btree ("reported_at","next_report_at");--> statement-breakpoint
CREATE INDEX "metered_usage_org_idx" ON "metered_usage" USING btree ("org_id","addon_key","occurred_at");--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('credit_settings');
--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('credit_alerts');
--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('metered_usage');
--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('credit_usage_hours');
