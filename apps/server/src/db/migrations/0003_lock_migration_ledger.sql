-- The migration ledger belongs to the owner alone: the app roles got it through the blanket grant
-- in 0001 (it existed by then), and must neither read nor rewrite which migrations ran.
REVOKE ALL ON TABLE tollgate_migrations FROM tollgate_app, tollgate_system;
