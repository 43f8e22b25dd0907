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
--> statement-breakpoint
-- The expiry job scans grants by expiry. Deliberately no index mentions `remaining`: then the
-- consumption's UPDATE of it is a HOT update (no index writes), helped by free space per page.
CREATE INDEX "credit_grants_expiry_idx" ON "credit_grants" USING btree ("expires_at");
--> statement-breakpoint
ALTER TABLE "credit_grants" SET (fillfactor = 70);
--> statement-breakpoint
ALTER TABLE "credit_accounts" SET (fillfactor = 50);
--> statement-breakpoint
-- The credit ledger's commands, each ONE round trip. Every change of an org's credits first locks
-- its credit_accounts row (the per-org lock point), so grants, consumptions, expiries and
-- revocations of one org are serialised across all server processes, while other orgs proceed.
-- Grant rows are only ever changed under that lock, so they need no row locks of their own.
-- Time comes from the caller (the server clock), never now(), so tests can advance it.
CREATE OR REPLACE FUNCTION tollgate_credit_lock(p_org text) RETURNS credit_accounts
LANGUAGE plpgsql AS $fn$
DECLARE acc credit_accounts;
BEGIN
  SELECT * INTO acc FROM credit_accounts WHERE org_id = p_org FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO credit_accounts (org_id) VALUES (p_org) ON CONFLICT DO NOTHING;
    SELECT * INTO acc FROM credit_accounts WHERE org_id = p_org FOR UPDATE;
  END IF;
  RETURN acc;
END $fn$;
--> statement-breakpoint
-- Expires what is left of the org's grants whose expiry has passed (caller holds the lock);
-- returns the new balance. One 'expire' ledger entry per grant.
CREATE OR REPLACE FUNCTION tollgate_credit_expire_locked(p_org text, p_balance integer, p_now timestamptz)
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE g record; bal integer := p_balance;
BEGIN
  FOR g IN SELECT id, remaining FROM credit_grants
    WHERE org_id = p_org AND remaining > 0 AND expires_at <= p_now ORDER BY expires_at, id
  LOOP
    UPDATE credit_grants SET remaining = 0 WHERE id = g.id;
    bal := bal - g.remaining;
    INSERT INTO credit_ledger (org_id, kind, grant_id, amount, balance_after, created_at)
      VALUES (p_org, 'expire', g.id, -g.remaining, bal, p_now);
  END LOOP;
  RETURN bal;
END $fn$;
--> statement-breakpoint
-- The same message publishOrgChange sends (modules/live), from inside the ledger's own statement.
CREATE OR REPLACE FUNCTION tollgate_credit_notify(p_org text, p_balance integer) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify('tollgate_org_changes', json_build_object(
    'id', 'chg_' || substr(md5(random()::text || clock_timestamp()::text), 1, 20),
    'org_id', p_org, 'type', 'credits.updated', 'object_id', NULL,
    'data', json_build_object('balance', p_balance))::text);
END $fn$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION tollgate_credit_settle(p_org text, p_before integer, p_after integer, p_overage integer, p_now timestamptz)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  UPDATE credit_accounts SET balance = p_after, overage = p_overage, updated_at = p_now WHERE org_id = p_org;
  IF p_after <> p_before THEN PERFORM tollgate_credit_notify(p_org, p_after); END IF;
END $fn$;
--> statement-breakpoint
-- Whether the org's plan allows overage: its live subscription's plan, else the free plan
-- (the lowest-ranked active plan without an active price). Read only when a balance is short.
CREATE OR REPLACE FUNCTION tollgate_credit_allows_overage(p_org text) RETURNS boolean
LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(
    (SELECT p.allow_overage FROM subscriptions s JOIN plans p ON p.key = s.plan_key
      WHERE s.org_id = p_org AND s.status IN ('active', 'trialing', 'past_due')
      ORDER BY s.created_at DESC LIMIT 1),
    (SELECT p.allow_overage FROM plans p WHERE p.active AND NOT EXISTS (
        SELECT 1 FROM prices x WHERE x.kind = 'plan' AND x.ref_key = p.key AND x.active)
      ORDER BY p.rank LIMIT 1),
    false)
$fn$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION tollgate_credit_present(c credit_consumptions, p_replayed boolean) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT jsonb_build_object('id', c.id, 'event', c.usage_event, 'quantity', c.quantity, 'credits', c.credits,
    'overage', c.overage, 'balance', c.balance_after, 'breakdown', c.breakdown,
    'created_at', c.created_at, 'replayed', p_replayed)
$fn$;
--> statement-breakpoint
-- One org's consumption request (a single item, or an atomic batch): all items or none.
-- p_entry = { o: org, items: [{ id, k: idempotency key, h: request hash, e: event, q: quantity,
-- c: credits, m: metadata }] }. Pass 1 decides replays, conflicts and whether the balance covers
-- the new items (writing nothing but due expiries); pass 2 consumes grants in precedence order.
-- p_state: NULL for an org's first request in this statement (lock, expire), else the running
-- { bal, ovg } of the org's previous request, already locked; the caller settles the account.
CREATE OR REPLACE FUNCTION tollgate_credit_consume_entry(p_entry jsonb, p_precedence text, p_now timestamptz, p_state jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  v_org text := p_entry->>'o';
  acc credit_accounts;
  before integer;
  bal integer;
  ovg integer;
  it jsonb;
  i integer := 0;
  prior credit_consumptions;
  seen jsonb := '{}'::jsonb;
  kinds jsonb := '[]'::jsonb;
  need integer := 0;
  allow boolean;
  err jsonb;
  results jsonb := '[]'::jsonb;
  k jsonb;
  g record;
  left_ integer;
  take integer;
  bd jsonb;
  consumed integer := 0;
  row_ credit_consumptions;
BEGIN
  IF p_state IS NULL THEN
    acc := tollgate_credit_lock(v_org);
    before := acc.balance;
    ovg := acc.overage;
    bal := tollgate_credit_expire_locked(v_org, acc.balance, p_now);
  ELSE
    bal := (p_state->>'bal')::int;
    ovg := (p_state->>'ovg')::int;
    before := bal;
  END IF;
  FOR it IN SELECT value FROM jsonb_array_elements(p_entry->'items') LOOP
    IF seen ? (it->>'k') THEN
      IF seen->(it->>'k')->>'h' <> it->>'h' THEN
        err := jsonb_build_object('code', 'idempotency_conflict', 'index', i); EXIT;
      END IF;
      kinds := kinds || jsonb_build_array(jsonb_build_object('dup', (seen->(it->>'k')->>'i')::int));
    ELSE
      SELECT * INTO prior FROM credit_consumptions WHERE org_id = v_org AND idempotency_key = it->>'k';
      IF FOUND THEN
        IF prior.request_hash <> it->>'h' THEN
          err := jsonb_build_object('code', 'idempotency_conflict', 'index', i); EXIT;
        END IF;
        kinds := kinds || jsonb_build_array(jsonb_build_object('replay', tollgate_credit_present(prior, true)));
      ELSE
        need := need + (it->>'c')::int;
        IF need > bal THEN
          IF allow IS NULL THEN allow := tollgate_credit_allows_overage(v_org); END IF;
          IF NOT allow THEN
            err := jsonb_build_object('code', 'insufficient_credits', 'index', i, 'balance', bal, 'required', need);
            EXIT;
          END IF;
        END IF;
        kinds := kinds || jsonb_build_array(jsonb_build_object('new', true));
      END IF;
      seen := seen || jsonb_build_object(it->>'k', jsonb_build_object('h', it->>'h', 'i', i));
    END IF;
    i := i + 1;
  END LOOP;

  IF err IS NULL THEN
    i := 0;
    FOR it IN SELECT value FROM jsonb_array_elements(p_entry->'items') LOOP
      k := kinds->i;
      IF k ? 'replay' THEN
        results := results || jsonb_build_array(k->'replay');
      ELSIF k ? 'dup' THEN
        results := results || jsonb_build_array(jsonb_set(results->((k->>'dup')::int), '{replayed}', 'true'));
      ELSE
        left_ := (it->>'c')::int;
        bd := '[]'::jsonb;
        FOR g IN SELECT id, source, remaining FROM credit_grants
          WHERE org_id = v_org AND remaining > 0 AND (expires_at IS NULL OR expires_at > p_now)
          ORDER BY
            CASE WHEN p_precedence = 'expiring_first' THEN 0
                 ELSE CASE source WHEN 'pack' THEN 0 WHEN 'subscription' THEN 2 ELSE 1 END END,
            expires_at NULLS LAST,
            CASE source WHEN 'pack' THEN 0 WHEN 'subscription' THEN 2 ELSE 1 END,
            created_at, id
        LOOP
          EXIT WHEN left_ = 0;
          take := least(g.remaining, left_);
          UPDATE credit_grants SET remaining = remaining - take WHERE id = g.id;
          bal := bal - take;
          left_ := left_ - take;
          INSERT INTO credit_ledger (org_id, kind, grant_id, amount, balance_after, consumption_id, usage_event, created_at)
            VALUES (v_org, 'consume', g.id, -take, bal, it->>'id', it->>'e', p_now);
          bd := bd || jsonb_build_array(jsonb_build_object('grant_id', g.id, 'source', g.source, 'credits', take));
        END LOOP;
        consumed := consumed + (it->>'c')::int - left_;
        IF left_ > 0 THEN
          -- Pass 1 let it through, so the plan allows overage: billed as a metered line.
          ovg := ovg + left_;
          INSERT INTO credit_ledger (org_id, kind, grant_id, amount, balance_after, consumption_id, usage_event, created_at)
            VALUES (v_org, 'overage', NULL, -left_, bal, it->>'id', it->>'e', p_now);
          INSERT INTO metered_usage (id, org_id, addon_key, meter_event_name, quantity, identifier, occurred_at, metadata, created_at)
            VALUES ('mu_' || (it->>'id'), v_org, 'credit_overage', 'tollgate_credit_overage', left_,
              'ovg_' || (it->>'id'), p_now, jsonb_build_object('consumption_id', it->>'id', 'event', it->>'e'), p_now);
        END IF;
        INSERT INTO credit_consumptions (id, org_id, idempotency_key, request_hash, usage_event, quantity, credits,
            overage, balance_after, breakdown, metadata, created_at)
          VALUES (it->>'id', v_org, it->>'k', it->>'h', it->>'e', (it->>'q')::int, (it->>'c')::int,
            left_, bal, bd, coalesce(it->'m', '{}'::jsonb), p_now)
          RETURNING * INTO row_;
        results := results || jsonb_build_array(tollgate_credit_present(row_, false));
      END IF;
      i := i + 1;
    END LOOP;
  END IF;
  RETURN jsonb_build_object('o', v_org, 'before', before, 'after', bal, 'consumed', consumed,
    'error', err, 'results', CASE WHEN err IS NULL THEN results ELSE '[]'::jsonb END,
    'ovg', ovg, 'acc_balance', acc.balance, 'acc_overage', acc.overage);
END $fn$;
--> statement-breakpoint
-- Group commit: many requests (any orgs; the caller sorts them by org so every process takes
-- account locks in the same order and two flushes can never deadlock) in one statement.
-- Consecutive requests of one org share one lock, one expiry pass and one account update.
CREATE OR REPLACE FUNCTION tollgate_credit_consume(p_entries jsonb, p_precedence text, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  e jsonb; r jsonb; out_ jsonb := '[]'::jsonb;
  cur text; state jsonb; start_bal integer; start_ovg integer;
BEGIN
  FOR e IN SELECT value FROM jsonb_array_elements(p_entries) LOOP
    IF cur IS DISTINCT FROM e->>'o' THEN
      IF cur IS NOT NULL AND ((state->>'bal')::int <> start_bal OR (state->>'ovg')::int <> start_ovg) THEN
        PERFORM tollgate_credit_settle(cur, start_bal, (state->>'bal')::int, (state->>'ovg')::int, p_now);
      END IF;
      cur := e->>'o';
      state := NULL;
    END IF;
    r := tollgate_credit_consume_entry(e, p_precedence, p_now, state);
    IF state IS NULL THEN
      start_bal := (r->>'acc_balance')::int;
      start_ovg := (r->>'acc_overage')::int;
    END IF;
    state := jsonb_build_object('bal', r->'after', 'ovg', r->'ovg');
    out_ := out_ || jsonb_build_array(r - 'ovg' - 'acc_balance' - 'acc_overage');
  END LOOP;
  IF cur IS NOT NULL AND ((state->>'bal')::int <> start_bal OR (state->>'ovg')::int <> start_ovg) THEN
    PERFORM tollgate_credit_settle(cur, start_bal, (state->>'bal')::int, (state->>'ovg')::int, p_now);
  END IF;
  RETURN out_;
END $fn$;
--> statement-breakpoint
-- A grant, once per cause_key: a duplicate cause grants nothing ('granted': false).
CREATE OR REPLACE FUNCTION tollgate_credit_grant(p_org text, p_id text, p_source text, p_amount integer,
  p_expires timestamptz, p_cause text, p_ref text, p_pack text, p_reason text, p_meta jsonb, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE acc credit_accounts; bal integer; done boolean := false;
BEGIN
  acc := tollgate_credit_lock(p_org);
  bal := acc.balance;
  INSERT INTO credit_grants (id, org_id, source, amount, remaining, expires_at, cause_key, source_ref, pack_key,
      reason, metadata, created_at)
    VALUES (p_id, p_org, p_source, p_amount, p_amount, p_expires, p_cause, p_ref, p_pack, p_reason,
      coalesce(p_meta, '{}'::jsonb), p_now)
    ON CONFLICT (cause_key) DO NOTHING;
  IF FOUND THEN
    done := true;
    bal := bal + p_amount;
    INSERT INTO credit_ledger (org_id, kind, grant_id, amount, balance_after, metadata, created_at)
      VALUES (p_org, 'grant', p_id, p_amount, bal, jsonb_build_object('source', p_source, 'cause', p_cause), p_now);
  END IF;
  bal := tollgate_credit_expire_locked(p_org, bal, p_now);
  IF bal <> acc.balance THEN PERFORM tollgate_credit_settle(p_org, acc.balance, bal, acc.overage, p_now); END IF;
  RETURN jsonb_build_object('granted', done, 'before', acc.balance, 'after', bal);
END $fn$;
--> statement-breakpoint
-- Revokes what remains of a grant (a refunded pack), once: a revoked grant stays revoked.
CREATE OR REPLACE FUNCTION tollgate_credit_revoke(p_org text, p_grant text, p_reason text, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE acc credit_accounts; bal integer; g credit_grants; revoked integer := 0;
BEGIN
  acc := tollgate_credit_lock(p_org);
  bal := tollgate_credit_expire_locked(p_org, acc.balance, p_now);
  SELECT * INTO g FROM credit_grants WHERE id = p_grant AND org_id = p_org;
  IF FOUND AND g.revoked_at IS NULL THEN
    UPDATE credit_grants SET remaining = 0, revoked_at = p_now WHERE id = p_grant;
    IF g.remaining > 0 THEN
      revoked := g.remaining;
      bal := bal - g.remaining;
      INSERT INTO credit_ledger (org_id, kind, grant_id, amount, balance_after, metadata, created_at)
        VALUES (p_org, 'revoke', p_grant, -g.remaining, bal, jsonb_build_object('reason', p_reason), p_now);
    END IF;
  END IF;
  IF bal <> acc.balance THEN PERFORM tollgate_credit_settle(p_org, acc.balance, bal, acc.overage, p_now); END IF;
  RETURN jsonb_build_object('revoked', revoked, 'before', acc.balance, 'after', bal);
END $fn$;
--> statement-breakpoint
-- The expiry job's step for one org.
CREATE OR REPLACE FUNCTION tollgate_credit_expire(p_org text, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE acc credit_accounts; bal integer;
BEGIN
  acc := tollgate_credit_lock(p_org);
  bal := tollgate_credit_expire_locked(p_org, acc.balance, p_now);
  IF bal <> acc.balance THEN PERFORM tollgate_credit_settle(p_org, acc.balance, bal, acc.overage, p_now); END IF;
  RETURN jsonb_build_object('before', acc.balance, 'after', bal);
END $fn$;
