import { createHash } from 'node:crypto';
import { and, asc, eq, inArray, isNotNull } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { emails, memberships, organizations, users } from '../../db/schema/index.ts';
import { asSystemRole } from '../../db/tx.ts';
import { enqueueJob } from '../../jobs/index.ts';
import { sendEmailTask } from './sendEmailTask.ts';
import { type EmailData, type EmailTemplate, renderEmail } from './templates.ts';

export type EmailInput = {
  [K in EmailTemplate]: {
    /**
     * What caused the email, unique per cause (`email.payment_failed:in_123:1`): the outbox's
     * unique index makes a duplicate, replayed or concurrent cause write nothing more.
     */
    causeKey: string;
    orgId: string;
    template: K;
    /** The template's data; the org's name is filled in here. */
    data: Omit<EmailData[K], 'orgName'>;
  };
}[EmailTemplate];

export interface EnqueuedEmail {
  id: string;
  status: 'pending' | 'skipped';
  to: string[];
}

/** Deterministic from the cause, so a cause names the same email in every log and run. */
export const emailId = (causeKey: string) =>
  `eml_${createHash('sha256').update(causeKey).digest('hex').slice(0, 24)}`;

/**
 * Writes the email to the outbox in the caller's transaction (so it exists exactly when its cause
 * commits) and enqueues its send job there too. Recipients: the org's billing email, else its
 * owners' and admins' emails; with none the row is stored as `skipped`, visible to operators.
 * Returns null when this cause already has its email. Works in withOrgTx and withSystemTx.
 */
export async function enqueueEmail(tx: Tx, input: EmailInput): Promise<EnqueuedEmail | null> {
  const id = emailId(input.causeKey);
  return asSystemRole(tx, async () => {
    const { orgName, to } = await resolveRecipients(tx, input.orgId);
    const data = { ...input.data, orgName };
    const rendered = renderEmail(input.template, data as never);
    const status = to.length ? ('pending' as const) : ('skipped' as const);
    const inserted = await tx
      .insert(emails)
      .values({
        id,
        orgId: input.orgId,
        causeKey: input.causeKey,
        template: input.template,
        to,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        data,
        status,
        lastError: to.length
          ? null
          : 'no recipient: the org has no billing email and no owner or admin email',
      })
      .onConflictDoNothing({ target: emails.causeKey })
      .returning({ id: emails.id });
    if (!inserted.length) return null;
    if (status === 'pending')
      await enqueueJob(tx, sendEmailTask.job({ emailId: id }, { dedupeKey: `emails.send:${id}` }));
    return { id, status, to };
  });
}

/** The org's billing email, else its owners' and admins' (oldest membership first). */
export async function resolveRecipients(tx: Tx, orgId: string): Promise<{ orgName: string; to: string[] }> {
  const [org] = await tx
    .select({ name: organizations.name, billingEmail: organizations.billingEmail })
    .from(organizations)
    .where(eq(organizations.id, orgId));
  if (!org) return { orgName: orgId, to: [] };
  if (org.billingEmail) return { orgName: org.name, to: [org.billingEmail] };
  const rows = await tx
    .select({ email: users.email })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(
      and(
        eq(memberships.orgId, orgId),
        inArray(memberships.role, ['owner', 'admin']),
        isNotNull(users.email),
      ),
    )
    .orderBy(asc(memberships.createdAt), asc(memberships.id));
  return { orgName: org.name, to: [...new Set(rows.map((r) => r.email!))] };
}
