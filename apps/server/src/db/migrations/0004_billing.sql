CREATE TABLE "invoices" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"customer_id" text NOT NULL,
	"subscription_id" text,
	"number" text,
	"status" text NOT NULL,
	"billing_reason" text,
	"collection_method" text,
	"currency" text NOT NULL,
	"subtotal" integer DEFAULT 0 NOT NULL,
	"total" integer DEFAULT 0 NOT NULL,
	"amount_due" integer DEFAULT 0 NOT NULL,
	"amount_paid" integer DEFAULT 0 NOT NULL,
	"amount_remaining" integer DEFAULT 0 NOT NULL,
	"attempt_count" integer DEFAULT 0 NOT NULL,
	"hosted_invoice_url" text,
	"invoice_pdf" text,
	"period_start" timestamp with time zone,
	"period_end" timestamp with time zone,
	"due_date" timestamp with time zone,
	"paid_at" timestamp with time zone,
	"next_payment_attempt" timestamp with time zone,
	"stripe_created_at" timestamp with time zone NOT NULL,
	"stripe_updated_at" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "payment_methods" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"customer_id" text NOT NULL,
	"brand" text,
	"last4" text,
	"exp_month" integer,
	"exp_year" integer,
	"is_default" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"detached_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"customer_id" text,
	"invoice_id" text,
	"charge_id" text,
	"amount_cents" integer NOT NULL,
	"amount_refunded_cents" integer DEFAULT 0 NOT NULL,
	"currency" text NOT NULL,
	"status" text NOT NULL,
	"card_brand" text,
	"card_last4" text,
	"description" text,
	"failure_reason" text,
	"paid_at" timestamp with time zone,
	"refunded_at" timestamp with time zone,
	"stripe_created_at" timestamp with time zone NOT NULL,
	"stripe_updated_at" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "refunds" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"payment_id" text NOT NULL,
	"amount_cents" integer NOT NULL,
	"currency" text NOT NULL,
	"reason" text,
	"status" text NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "subscriptions" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"customer_id" text NOT NULL,
	"status" text NOT NULL,
	"plan_key" text,
	"price_id" text,
	"interval" text,
	"quantity" integer DEFAULT 1 NOT NULL,
	"current_period_start" timestamp with time zone,
	"current_period_end" timestamp with time zone,
	"trial_end" timestamp with time zone,
	"cancel_at_period_end" boolean DEFAULT false NOT NULL,
	"cancel_at" timestamp with time zone,
	"canceled_at" timestamp with time zone,
	"schedule_id" text,
	"pending_plan_key" text,
	"pending_price_id" text,
	"pending_change_at" timestamp with time zone,
	"default_payment_method_id" text,
	"latest_invoice_id" text,
	"collection_method" text DEFAULT 'charge_automatically' NOT NULL,
	"discount" jsonb,
	"stripe_updated_at" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "plans" (
	"key" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"rank" integer NOT NULL,
	"trial_days" integer DEFAULT 0 NOT NULL,
	"features" jsonb NOT NULL,
	"credits_per_period" integer DEFAULT 0 NOT NULL,
	"allow_overage" boolean DEFAULT false NOT NULL,
	"stripe_product_id" text,
	"active" boolean DEFAULT true NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "prices" (
	"id" text PRIMARY KEY NOT NULL,
	"lookup_key" text,
	"kind" text NOT NULL,
	"ref_key" text NOT NULL,
	"interval" text,
	"currency" text NOT NULL,
	"unit_amount" integer,
	"unit_amount_decimal" text,
	"model" text NOT NULL,
	"spec" jsonb NOT NULL,
	"credits" integer,
	"stripe_product_id" text NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "plan_key" text DEFAULT 'free' NOT NULL;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "trial_used_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "address" jsonb;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "tax_id_type" text;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "tax_id_value" text;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "collection_method" text DEFAULT 'charge_automatically' NOT NULL;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "days_until_due" integer;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "po_number" text;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_methods" ADD CONSTRAINT "payment_methods_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "invoices_org_idx" ON "invoices" USING btree ("org_id","stripe_created_at");--> statement-breakpoint
CREATE INDEX "payment_methods_org_idx" ON "payment_methods" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "payments_org_idx" ON "payments" USING btree ("org_id","stripe_created_at","id");--> statement-breakpoint
CREATE INDEX "refunds_payment_idx" ON "refunds" USING btree ("payment_id");--> statement-breakpoint
CREATE INDEX "subscriptions_org_idx" ON "subscriptions" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "prices_ref_idx" ON "prices" USING btree ("kind","ref_key");--> statement-breakpoint
CREATE UNIQUE INDEX "prices_active_lookup_key" ON "prices" USING btree ("lookup_key");--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('subscriptions');
--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('payment_methods');
--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('invoices');
--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('payments');
--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('refunds');
--> statement-breakpoint
-- The catalog is public to every org, writable only by the system role (catalog push).
ALTER TABLE plans ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE plans FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY read_all ON plans FOR SELECT TO tollgate_app USING (true);
--> statement-breakpoint
CREATE POLICY system_all ON plans TO tollgate_system USING (true) WITH CHECK (true);
--> statement-breakpoint
ALTER TABLE prices ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE prices FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY read_all ON prices FOR SELECT TO tollgate_app USING (true);
--> statement-breakpoint
CREATE POLICY system_all ON prices TO tollgate_system USING (true) WITH CHECK (true);
