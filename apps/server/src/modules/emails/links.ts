import type { Env } from '../../env.ts';

/** Where an org's people update their card and see their plan: the dashboard, for that org. */
export const billingUrl = (env: Pick<Env, 'publicUrl'>, orgId: string) =>
  `${env.publicUrl}/?org=${encodeURIComponent(orgId)}`;
