ALTER TABLE "credit_consumptions" DROP CONSTRAINT "credit_consumptions_org_id_organizations_id_fk";
--> statement-breakpoint
ALTER TABLE "credit_ledger" DROP CONSTRAINT "credit_ledger_org_id_organizations_id_fk";
--> statement-breakpoint
-- Writes an org's account after its entries of a flush (when anything changed); true when the
-- balance changed, i.e. when the org's `credits.updated` must be announced.
CREATE OR REPLACE FUNCTION tollgate_credit_account_set(p_org text, p_start_bal integer, p_start_ovg integer,
  p_state jsonb, p_now timestamptz)
RETURNS boolean LANGUAGE plpgsql AS $fn$
DECLARE bal integer := (p_state->>'bal')::int; ovg integer := (p_state->>'ovg')::int;
BEGIN
  IF bal <> p_start_bal OR ovg <> p_start_ovg THEN
    UPDATE credit_accounts SET balance = bal, overage = ovg, updated_at = p_now WHERE org_id = p_org;
  END IF;
  RETURN bal <> p_start_bal;
END $fn$;
--> statement-breakpoint
-- Group commit, as in 0006, but the flush announces its balance changes in ONE notification (a
-- JSON array; several when it would pass NOTIFY's 8,000-byte limit) instead of one per org:
-- every pg_notify costs the flush, makes each listening process parse a message, and every
-- notifying transaction holds Postgres's global notify lock through its commit.
CREATE OR REPLACE FUNCTION tollgate_credit_consume(p_entries jsonb, p_precedence text, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  e jsonb; r jsonb;
  outs jsonb[] := '{}';  -- an array, not a growing jsonb: appending to jsonb copies it each time
  cur text; state jsonb; start_bal integer; start_ovg integer;
  base text := 'chg_' || substr(md5(random()::text || clock_timestamp()::text), 1, 14) || '_';
  msg text;
  buf text := '';
  orgs text[] := '{}';
  bals integer[] := '{}';
  i integer;
BEGIN
  FOR e IN SELECT value FROM jsonb_array_elements(p_entries) LOOP
    IF cur IS DISTINCT FROM e->>'o' THEN
      IF cur IS NOT NULL AND tollgate_credit_account_set(cur, start_bal, start_ovg, state, p_now) THEN
        orgs := orgs || cur; bals := bals || (state->>'bal')::int;
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
    outs := outs || r;  -- the caller ignores the working fields (ovg, acc_*)
  END LOOP;
  IF cur IS NOT NULL AND tollgate_credit_account_set(cur, start_bal, start_ovg, state, p_now) THEN
    orgs := orgs || cur; bals := bals || (state->>'bal')::int;
  END IF;
  -- The same message as tollgate_credit_notify's, per org, batched.
  FOR i IN 1 .. coalesce(array_length(orgs, 1), 0) LOOP
    msg := json_build_object('id', base || i, 'org_id', orgs[i], 'type', 'credits.updated',
      'object_id', NULL, 'data', json_build_object('balance', bals[i]))::text;
    IF buf <> '' AND octet_length(buf) + octet_length(msg) + 2 > 7500 THEN
      PERFORM pg_notify('tollgate_org_changes', '[' || buf || ']');
      buf := '';
    END IF;
    buf := CASE WHEN buf = '' THEN msg ELSE buf || ',' || msg END;
  END LOOP;
  IF buf <> '' THEN PERFORM pg_notify('tollgate_org_changes', '[' || buf || ']'); END IF;
  RETURN to_jsonb(outs);
END $fn$;
