-- Users are global identities, but a tenant transaction must not read other orgs' people.
-- tollgate_app sees (and may update) only users who are members of the current org; users are
-- created and looked up by external id in system transactions (see modules/members/resolveUser.ts).
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE users FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY system_all ON users TO tollgate_system USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY tenant_members_read ON users FOR SELECT TO tollgate_app
  USING (EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id));
--> statement-breakpoint
CREATE POLICY tenant_members_update ON users FOR UPDATE TO tollgate_app
  USING (EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id));
