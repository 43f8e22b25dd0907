import { useEffect, useState } from 'react';
import { fetchMe, type Me, signOut } from './api.ts';

/**
 * Placeholder shell: shows who is signed in. The billing views (subscription, invoices, credits,
 * operator tools) arrive with the dashboard issue and plug into this layout.
 */
export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    fetchMe().then(setMe, (e: Error) => setError(e.message));
  }, []);

  return (
    <div className="shell">
      <header>
        <span className="logo">Tollgate</span>
        {me && (
          <button
            type="button"
            onClick={async () => {
              if (me.csrf_token) await signOut(me.csrf_token);
              setMe(null);
            }}
          >
            Sign out
          </button>
        )}
      </header>
      <main>
        {error && <p className="error">{error}</p>}
        {me === undefined && !error && <p>Loading…</p>}
        {me === null && (
          <section>
            <h1>Not signed in</h1>
            <p>
              Your product signs you in with a one-time link. In demo mode, use the{' '}
              <a href="/dev/sign-in">dev sign-in page</a>.
            </p>
          </section>
        )}
        {me && (
          <section>
            <h1>Billing dashboard</h1>
            <dl>
              <dt>Signed in as</dt>
              <dd data-testid="me-email">{me.email ?? me.user_id ?? me.kind}</dd>
              <dt>Organisation</dt>
              <dd data-testid="me-org">{me.org_id ?? '—'}</dd>
              <dt>Role</dt>
              <dd data-testid="me-role">{me.platform_operator ? 'platform operator' : (me.role ?? '—')}</dd>
            </dl>
            <p className="muted">Subscription, invoices, credits and operator tools will appear here.</p>
          </section>
        )}
      </main>
    </div>
  );
}
