CREATE TABLE "outgoing_webhook_deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"endpoint_id" text NOT NULL,
	"org_id" text,
	"event_id" text NOT NULL,
	"event_type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_status_code" integer,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "outgoing_webhook_endpoints" (
	"id" text PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"secret" text NOT NULL,
	"events" jsonb NOT NULL,
	"org_id" text,
	"description" text,
	"active" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "side_effects" (
	"key" text PRIMARY KEY NOT NULL,
	"org_id" text,
	"kind" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "stripe_events" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"object_id" text,
	"object_type" text,
	"stripe_created" bigint NOT NULL,
	"api_version" text,
	"livemode" boolean DEFAULT false NOT NULL,
	"payload" jsonb NOT NULL,
	"org_id" text,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_by" text,
	"locked_until" timestamp with time zone,
	"last_error" text,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"applied_at" timestamp with time zone,
	"replay_count" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "billing_state" text DEFAULT 'ok' NOT NULL;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "past_due_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "grace_ends_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "payment_failure_reason" text;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "payment_action_url" text;--> statement-breakpoint
CREATE UNIQUE INDEX "outgoing_deliveries_event_endpoint" ON "outgoing_webhook_deliveries" USING btree ("event_id","endpoint_id");--> statement-breakpoint
CREATE INDEX "outgoing_deliveries_endpoint_idx" ON "outgoing_webhook_deliveries" USING btree ("endpoint_id","created_at");--> statement-breakpoint
CREATE INDEX "stripe_events_queue_idx" ON "stripe_events" USING btree ("status","next_attempt_at");--> statement-breakpoint
CREATE INDEX "stripe_events_type_idx" ON "stripe_events" USING btree ("type","received_at");--> statement-breakpoint
CREATE INDEX "stripe_events_object_idx" ON "stripe_events" USING btree ("object_id");--> statement-breakpoint
CREATE INDEX "stripe_events_org_idx" ON "stripe_events" USING btree ("org_id","received_at");--> statement-breakpoint
-- Platform tables: only the system role (workers, operators) touches them.
ALTER TABLE stripe_events ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE stripe_events FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY system_all ON stripe_events TO tollgate_system USING (true) WITH CHECK (true);
--> statement-breakpoint
ALTER TABLE side_effects ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE side_effects FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY system_all ON side_effects TO tollgate_system USING (true) WITH CHECK (true);
--> statement-breakpoint
ALTER TABLE outgoing_webhook_endpoints ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE outgoing_webhook_endpoints FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY system_all ON outgoing_webhook_endpoints TO tollgate_system USING (true) WITH CHECK (true);
--> statement-breakpoint
ALTER TABLE outgoing_webhook_deliveries ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE outgoing_webhook_deliveries FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY system_all ON outgoing_webhook_deliveries TO tollgate_system USING (true) WITH CHECK (true);
