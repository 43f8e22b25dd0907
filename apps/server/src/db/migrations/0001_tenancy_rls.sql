-- Tenancy enforced by Postgres, not only by code.
-- The app never queries as the table owner: every transaction switches to one of two NOLOGIN roles.
--   tollgate_app    : tenant work; row-level security limits it to the org set in `tollgate.org_id`.
--   tollgate_system : workers and platform operators; sees every org.
-- Roles are cluster-wide, so several databases (tests, staging) share them; creation tolerates races.
DO $$
BEGIN
  BEGIN CREATE ROLE tollgate_app NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
  BEGIN CREATE ROLE tollgate_system NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
END $$;
--> statement-breakpoint
DO $$
BEGIN
  -- The connecting (owner) role must be allowed to SET ROLE to both. Superusers already may.
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('GRANT tollgate_app, tollgate_system TO %I', current_user);
  END IF;
END $$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO tollgate_app, tollgate_system;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO tollgate_app, tollgate_system;
--> statement-breakpoint
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO tollgate_app, tollgate_system;
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tollgate_app, tollgate_system;
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO tollgate_app, tollgate_system;
--> statement-breakpoint
-- Later migrations call this for every new tenant table.
CREATE OR REPLACE FUNCTION tollgate_enable_tenant_rls(tbl regclass, org_column text DEFAULT 'org_id') RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %s', tbl);
  EXECUTE format('DROP POLICY IF EXISTS system_all ON %s', tbl);
  EXECUTE format(
    'CREATE POLICY tenant_isolation ON %s TO tollgate_app USING (%I = current_setting(''tollgate.org_id'', true)) WITH CHECK (%I = current_setting(''tollgate.org_id'', true))',
    tbl, org_column, org_column);
  EXECUTE format('CREATE POLICY system_all ON %s TO tollgate_system USING (true) WITH CHECK (true)', tbl);
END $fn$;
--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('organizations', 'id');
--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('memberships');
--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('api_keys');
--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('dashboard_sessions');
--> statement-breakpoint
SELECT tollgate_enable_tenant_rls('audit_log');
--> statement-breakpoint
-- Platform-wide tables: only the system role may touch them.
ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY system_all ON jobs TO tollgate_system USING (true) WITH CHECK (true);
--> statement-breakpoint
-- Users are global; tenant transactions may read and create them (membership rows are what is scoped).
-- The audit log is append-only for everyone, owner included.
CREATE OR REPLACE FUNCTION tollgate_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $fn$;
--> statement-breakpoint
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION tollgate_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_refuse_change();
