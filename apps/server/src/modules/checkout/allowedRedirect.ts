import type { Env } from '../../env.ts';
import { type FieldIssue, validationFailed } from '../../http/errors.ts';

/** The origins a browser may be sent back to: ALLOWED_REDIRECT_ORIGINS plus our own PUBLIC_URL. */
export function allowedRedirectOrigins(
  env: Pick<Env, 'ALLOWED_REDIRECT_ORIGINS' | 'publicUrl'>,
): Set<string> {
  const origins = new Set<string>();
  for (const entry of [...env.ALLOWED_REDIRECT_ORIGINS, env.publicUrl]) {
    const origin = originOf(entry);
    if (origin) origins.add(origin);
  }
  return origins;
}

function originOf(value: string): string | null {
  try {
    const u = new URL(value);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.origin : null;
  } catch {
    return null;
  }
}

/**
 * Why `value` may not be a redirect target, or null when it may. Compared by parsed origin, never
 * by string prefix: `https://app.example.com.evil.test` and `https://app.example.com@evil.test`
 * have other origins. Only http(s) URLs qualify (no javascript:, data:, or scheme-relative `//x`),
 * and credentials in the URL are refused (they only serve to disguise the host).
 */
export function redirectProblem(value: string, allowed: Set<string>): string | null {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'must be an http(s) URL';
  if (u.username || u.password) return 'must not contain credentials';
  if (!allowed.has(u.origin)) return `origin ${u.origin} is not allowed (configure ALLOWED_REDIRECT_ORIGINS)`;
  return null;
}

/** Checks every named redirect URL against the allow-list; one 400 lists all offenders. */
export function assertAllowedRedirects(
  env: Pick<Env, 'ALLOWED_REDIRECT_ORIGINS' | 'publicUrl'>,
  urls: Record<string, string | undefined>,
): void {
  const allowed = allowedRedirectOrigins(env);
  const issues: FieldIssue[] = [];
  for (const [field, value] of Object.entries(urls)) {
    if (value === undefined) continue;
    const problem = redirectProblem(value, allowed);
    if (problem) issues.push({ field, message: problem, in: 'body' });
  }
  if (issues.length) throw validationFailed(issues);
}
