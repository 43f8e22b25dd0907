CREATE TABLE "feature_usage" (
	"org_id" text NOT NULL,
	"feature" text NOT NULL,
	"usage" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feature_usage_org_id_feature_pk" PRIMARY KEY("org_id","feature")
);
--> statement-breakpoint
ALTER TABLE "feature_usage" ADD CONSTRAINT "feature_usage_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('feature_usage');
