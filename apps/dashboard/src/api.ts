/** Who the dashboard session belongs to (GET /v1/me). */
export interface Me {
  kind: 'api_key' | 'platform_key' | 'user';
  user_id: string | null;
  email: string | null;
  org_id: string | null;
  role: string | null;
  platform_operator: boolean;
  csrf_token: string | null;
}

export async function fetchMe(): Promise<Me | null> {
  const res = await fetch('/v1/me', { credentials: 'same-origin' });
  if (res.status === 401) return null;
  if (!res.ok) throw new Error(`GET /v1/me failed: ${res.status}`);
  return (await res.json()) as Me;
}

export async function signOut(csrf: string): Promise<void> {
  await fetch('/v1/session/sign-out', {
    method: 'POST',
    headers: { 'x-csrf-token': csrf },
    credentials: 'same-origin',
  });
}
