CREATE TABLE "emails" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text,
	"cause_key" text NOT NULL,
	"template" text NOT NULL,
	"to" jsonb NOT NULL,
	"subject" text NOT NULL,
	"text" text NOT NULL,
	"html" text,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"message_id" text,
	"sent_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "emails_cause_key" ON "emails" USING btree ("cause_key");--> statement-breakpoint
CREATE INDEX "emails_org_idx" ON "emails" USING btree ("org_id","created_at");--> statement-breakpoint
-- Platform table (emails may be about no org): only the system role touches it.
ALTER TABLE emails ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE emails FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY system_all ON emails TO tollgate_system USING (true) WITH CHECK (true);
