import { eq } from 'drizzle-orm';
import type Stripe from 'stripe';
import { organizations } from '../../db/schema/index.ts';
import { withSystemTx } from '../../db/tx.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { recordAudit, systemAudit } from '../audit/recordAudit.ts';
import { findOrgByCustomer, findOrgLink } from './repo.ts';
import { type OrgSyncSummary, type SyncDeps, syncOrgFromStripe } from './syncOrgFromStripe.ts';

export const ORG_METADATA_KEY = 'tollgate_org_id';

export interface SyncAllResult {
  orgs: (OrgSyncSummary & { created: boolean; linked: boolean })[];
  /** Customers that name an org but could not be tied to it (it already has another customer). */
  conflicts: { customerId: string; orgId: string; reason: string }[];
}

/** Every live Stripe customer that names a Tollgate org, oldest first. */
async function listOrgCustomers(deps: SyncDeps): Promise<Stripe.Customer[]> {
  const out: Stripe.Customer[] = [];
  let startingAfter: string | undefined;
  for (;;) {
    const page = await withStripeRetry(() =>
      deps.stripe.customers.list({ limit: 100, ...(startingAfter ? { starting_after: startingAfter } : {}) }),
    );
    out.push(...page.data.filter((c) => c.metadata?.[ORG_METADATA_KEY]));
    const last = page.data.at(-1);
    if (!page.has_more || !last) break;
    startingAfter = last.id;
  }
  return out.sort((a, b) => a.created - b.created);
}

/**
 * Creates the org a customer names when the database lacks it (id from the metadata, name and
 * billing email from the customer) and links the customer when the org has none. Runs as the
 * system role: the org may not exist yet, so there is no tenant to scope to. Idempotent; the
 * unique index on stripe_customer_id keeps one customer per org even if two syncs race.
 */
async function ensureLinkedOrg(deps: SyncDeps, customer: Stripe.Customer) {
  const orgId = customer.metadata[ORG_METADATA_KEY]!;
  return withSystemTx(deps.database, async (tx) => {
    const holder = await findOrgByCustomer(tx, customer.id);
    if (holder && holder.id !== orgId)
      return { orgId, created: false, linked: false, conflict: `customer is linked to org ${holder.id}` };
    const existing = await findOrgLink(tx, orgId);
    if (existing?.customerId && existing.customerId !== customer.id)
      return { orgId, created: false, linked: false, conflict: `org is linked to ${existing.customerId}` };
    if (existing?.customerId) return { orgId, created: false, linked: false, conflict: null };
    const audit = systemAudit();
    if (!existing) {
      const row = { id: orgId, name: customer.name || orgId, billingEmail: customer.email ?? null };
      await tx
        .insert(organizations)
        .values({ ...row, stripeCustomerId: customer.id })
        .onConflictDoNothing();
      await recordAudit(tx, audit, {
        orgId,
        action: 'org.created',
        targetType: 'org',
        targetId: orgId,
        after: { ...row, stripe_customer_id: customer.id, source: 'stripe sync' },
      });
      return { orgId, created: true, linked: true, conflict: null };
    }
    await tx.update(organizations).set({ stripeCustomerId: customer.id }).where(eq(organizations.id, orgId));
    await recordAudit(tx, audit, {
      orgId,
      action: 'org.customer_linked',
      targetType: 'org',
      targetId: orgId,
      after: { stripe_customer_id: customer.id, source: 'stripe sync' },
    });
    return { orgId, created: false, linked: true, conflict: null };
  });
}

/**
 * `tollgate sync`: rebuilds (or tops up) the projection from Stripe. Every customer carrying
 * `metadata.tollgate_org_id` gets its org (created when missing) and is synced with
 * syncOrgFromStripe. Running it twice changes nothing the second time. Members, API keys and
 * other Tollgate-only data are not in Stripe and are not restored.
 */
export async function syncAll(deps: SyncDeps): Promise<SyncAllResult> {
  const result: SyncAllResult = { orgs: [], conflicts: [] };
  const seenOrgs = new Set<string>();
  for (const customer of await listOrgCustomers(deps)) {
    const link = await ensureLinkedOrg(deps, customer);
    if (link.conflict) {
      result.conflicts.push({ customerId: customer.id, orgId: link.orgId, reason: link.conflict });
      continue;
    }
    if (seenOrgs.has(link.orgId)) continue;
    seenOrgs.add(link.orgId);
    const summary = await syncOrgFromStripe(deps, link.orgId);
    result.orgs.push({ ...summary, created: link.created, linked: link.linked });
  }
  return result;
}
