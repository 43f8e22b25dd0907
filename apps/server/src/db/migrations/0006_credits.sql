CREATE TABLE "credit_accounts" (
	"org_id" text PRIMARY KEY NOT NULL,
	"balance" integer DEFAULT 0 NOT NULL,
	"overage" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_consumptions" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"idempotency_key" text NOT NULL,
	"request_hash" text NOT NULL,
	"usage_event" text NOT NULL,
	"quantity" integer NOT NULL,
	"credits" integer NOT NULL,
	"overage" integer DEFAULT 0 NOT NULL,
	"balance_after" integer NOT NULL,
	"breakdown" jsonb NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_grants" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"source" text NOT NULL,
	"amount" integer NOT NULL,
	"remaining" integer NOT NULL,
	"expires_at" timestamp with time zone,
	"cause_key" text NOT NULL,
	"source_ref" text,
	"pack_key" text,
	"reason" text,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"revoked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_ledger" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "credit_ledger_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"org_id" text NOT NULL,
	"kind" text NOT NULL,
	"grant_id" text,
	"amount" integer NOT NULL,
	"balance_after" integer NOT NULL,
	"consumption_id" text,
	"usage_event" text,
	"metadata" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "credit_accounts" ADD CONSTRAINT "credit_accounts_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_consumptions" ADD CONSTRAINT "credit_consumptions_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_grants" ADD CONSTRAINT "credit_grants_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_ledger" ADD CONSTRAINT "credit_ledger_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "credit_consumptions_key" ON "credit_consumptions" USING btree ("org_id","idempotency_key");--> statement-breakpoint
CREATE UNIQUE INDEX "credit_grants_cause_key" ON "credit_grants" USING btree ("cause_key");--> statement-breakpoint
CREATE INDEX "credit_grants_org_idx" ON "credit_grants" USING btree ("org_id","expires_at");--> statement-breakpoint
CREATE INDEX "credit_grants_source_ref_idx" ON "credit_grants" USING btree ("source_ref");--> statement-breakpoint
CREATE INDEX "credit_ledger_org_idx" ON "credit_ledger" USING btree ("org_id","id");--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('credit_accounts');
--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('credit_grants');
--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('credit_ledger');
--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('credit_consumptions');
--> statement-breakpoint
-- The ledger is append-only for everyone but the owner (migrations): no UPDATE or DELETE.
REVOKE UPDATE, DELETE, TRUNCATE ON credit_ledger FROM tollgate_app, tollgate_system;
