import { formatMoney } from '../invoices/formatMoney.ts';

/**
 * The billing emails: one small function per template, each turning its data into a subject, a
 * plain-text body and a simple HTML body. Rendered when the email is enqueued (in its cause's
 * transaction), so the outbox row holds exactly what is sent, however late the send job runs.
 */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

export interface EmailData {
  payment_failed: {
    orgName: string;
    invoice: string;
    amountDue: number;
    currency: string;
    reason: string;
    /** ISO time access is restricted unless paid; null when no grace period applies. */
    graceEndsAt: string | null;
    hostedInvoiceUrl: string | null;
    billingUrl: string;
  };
  payment_action_required: {
    orgName: string;
    invoice: string;
    amountDue: number;
    currency: string;
    hostedInvoiceUrl: string | null;
    billingUrl: string;
  };
  payment_recovered: { orgName: string; invoice: string; amountPaid: number; currency: string };
  access_restricted: { orgName: string; since: string; billingUrl: string };
  trial_ending: { orgName: string; plan: string | null; trialEndsAt: string; billingUrl: string };
  credits_low: { orgName: string; balance: number; threshold: number; billingUrl: string };
}
export type EmailTemplate = keyof EmailData;
export const EMAIL_TEMPLATES = [
  'payment_failed',
  'payment_action_required',
  'payment_recovered',
  'access_restricted',
  'trial_ending',
  'credits_low',
] as const satisfies readonly EmailTemplate[];

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** A date as people read it in an email, unambiguous across locales: "24 Nov 2026". */
const day = (iso: string) =>
  new Date(iso).toLocaleDateString('en-GB', {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    timeZone: 'UTC',
  });

/** Paragraphs and links, rendered once as text and once as HTML, so the two never disagree. */
type Block = string | { link: string; label: string };
function compose(subject: string, blocks: Block[]): RenderedEmail {
  const text = blocks.map((b) => (typeof b === 'string' ? b : `${b.label}: ${b.link}`)).join('\n\n');
  const html = blocks
    .map((b) =>
      typeof b === 'string'
        ? `<p>${escapeHtml(b)}</p>`
        : `<p><a href="${escapeHtml(b.link)}">${escapeHtml(b.label)}</a></p>`,
    )
    .join('\n');
  return {
    subject,
    text: `${text}\n`,
    html: `<!doctype html><html><body style="font-family:sans-serif">\n${html}\n</body></html>\n`,
  };
}
const links = (...ls: (Block | null)[]) => ls.filter((l): l is Block => l !== null);

export const templates: { [K in EmailTemplate]: (d: EmailData[K]) => RenderedEmail } = {
  payment_failed: (d) =>
    compose(`Payment failed for ${d.orgName}`, [
      `We could not collect ${formatMoney(d.amountDue, d.currency)} for invoice ${d.invoice} (${d.reason.replace(/_/g, ' ')}).`,
      d.graceEndsAt
        ? `Your access continues until ${day(d.graceEndsAt)}. Please update your card before then; we will retry the payment automatically.`
        : 'Please update your card; we will retry the payment automatically.',
      ...links(
        { link: d.billingUrl, label: 'Update your payment method' },
        d.hostedInvoiceUrl ? { link: d.hostedInvoiceUrl, label: 'Pay the invoice now' } : null,
      ),
    ]),
  payment_action_required: (d) =>
    compose(`Action required: confirm your payment for ${d.orgName}`, [
      `Your bank asks you to confirm the payment of ${formatMoney(d.amountDue, d.currency)} for invoice ${d.invoice}.`,
      ...links(
        d.hostedInvoiceUrl
          ? { link: d.hostedInvoiceUrl, label: 'Confirm the payment' }
          : { link: d.billingUrl, label: 'Open billing' },
      ),
    ]),
  payment_recovered: (d) =>
    compose(`Payment received for ${d.orgName}`, [
      `Thank you: ${formatMoney(d.amountPaid, d.currency)} for invoice ${d.invoice} was paid and your account is in good standing again.`,
    ]),
  access_restricted: (d) =>
    compose(`Access restricted for ${d.orgName}`, [
      `A payment has been overdue since ${day(d.since)} and the grace period is over, so access to paid features is now restricted.`,
      'Paying the open invoice restores access straight away.',
      { link: d.billingUrl, label: 'Update your payment method' },
    ]),
  trial_ending: (d) =>
    compose(`Your trial ends on ${day(d.trialEndsAt)}`, [
      `The ${d.plan ? `${d.plan} ` : ''}trial of ${d.orgName} ends on ${day(d.trialEndsAt)}. The subscription then starts and your default payment method is charged.`,
      { link: d.billingUrl, label: 'Review your plan and payment method' },
    ]),
  credits_low: (d) =>
    compose(`Credits running low for ${d.orgName}`, [
      `${d.orgName} has ${d.balance.toLocaleString('en-US')} credits left (alert threshold ${d.threshold.toLocaleString('en-US')}).`,
      { link: d.billingUrl, label: 'Buy more credits' },
    ]),
};

export function renderEmail<K extends EmailTemplate>(template: K, data: EmailData[K]): RenderedEmail {
  return templates[template](data);
}
