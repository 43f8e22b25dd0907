import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withOrgTx } from '../src/db/tx.ts';
import { applyInvoice } from '../src/modules/invoices/applyInvoice.ts';
import { formatMoney } from '../src/modules/invoices/formatMoney.ts';
import { seedCatalog } from './catalogFixture.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from './harness.ts';
import { pdfText } from './pdfText.ts';

let t: TestApp;
let paying: TestOrg;
let other: TestOrg;

beforeAll(async () => {
  t = await startTestApp({
    INVOICE_SELLER_NAME: 'Acme Software Ltd',
    INVOICE_SELLER_ADDRESS: '1 Dock Rd|Dublin',
  });
  await seedCatalog(t);
  paying = await createTestOrg(t, 'Paying Co');
  other = await createTestOrg(t, 'Other Co');
  for (const o of [paying, other]) {
    const card = await t.request('POST', `/v1/orgs/${o.id}/payment-methods`, {
      token: o.key,
      body: { payment_method_id: 'pm_card_visa' },
    });
    expect(card.status, JSON.stringify(card.body)).toBe(201);
  }
  const po = await t.request('PATCH', `/v1/orgs/${paying.id}`, {
    token: paying.key,
    body: { po_number: 'PO-CARD-7' },
  });
  expect(po.status).toBe(200);
  for (const o of [paying, other]) {
    const sub = await t.request('POST', `/v1/orgs/${o.id}/subscription`, {
      token: o.key,
      body: { plan: 'enterprise' },
    });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
  }
});
afterAll(() => t.close());

const invoicesPath = (o: TestOrg, query = '') => `/v1/orgs/${o.id}/invoices${query}`;
const customerOf = async (o: TestOrg) =>
  (await t.request('GET', `/v1/orgs/${o.id}`, { token: o.key })).body.stripe_customer_id as string;

async function download(path: string, token: string) {
  const res = await fetch(t.url + path, { headers: { authorization: `Bearer ${token}` } });
  return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
}

/** A one-line invoice made directly in Stripe (as an operator would in the dashboard), finalized. */
async function manualInvoice(customer: string, amount: number, description: string) {
  const inv = await t.deps.stripe.invoices.create({
    customer,
    collection_method: 'send_invoice',
    days_until_due: 7,
  });
  await t.deps.stripe.invoiceItems.create({
    customer,
    invoice: inv.id,
    amount,
    currency: 'usd',
    description,
  });
  return t.deps.stripe.invoices.finalizeInvoice(inv.id);
}

describe('invoices', () => {
  it('a paid subscription shows its invoice: number, status, amounts, dates, hosted URL', async () => {
    const res = await t.request('GET', invoicesPath(paying), { token: paying.member.jwt });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.has_more).toBe(false);
    expect(res.body.data).toHaveLength(1);
    const [inv] = res.body.data;
    const stripe = await t.deps.stripe.invoices.retrieve(inv.id);
    expect(inv).toMatchObject({
      number: stripe.number,
      status: 'paid',
      billing_reason: 'subscription_create',
      collection_method: 'charge_automatically',
      currency: 'usd',
      subtotal: 19_900,
      total: 19_900,
      amount_due: 19_900,
      amount_paid: 19_900,
      amount_remaining: 0,
      due_date: null,
      hosted_invoice_url: stripe.hosted_invoice_url,
      subscription_id: stripe.parent?.subscription_details?.subscription,
    });
    expect(inv.number).toMatch(/^[A-Z0-9]+-0001$/);
    expect(inv.paid_at).toBe(new Date(stripe.status_transitions.paid_at! * 1000).toISOString());
    expect(inv.created).toBe(new Date(stripe.created * 1000).toISOString());
    expect(inv.pdf_url).toBe(`${t.url}/v1/orgs/${paying.id}/invoices/${inv.id}/pdf`);
  });

  it('the PDF downloads as an attachment named by the number, with seller, PO number, lines and totals', async () => {
    const [inv] = (await t.request('GET', invoicesPath(paying), { token: paying.key })).body.data;
    const { res, bytes } = await download(`/v1/orgs/${paying.id}/invoices/${inv.id}/pdf`, paying.member.jwt);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${inv.number}.pdf"`);
    const [page] = await pdfText(bytes);
    for (const text of [
      'Acme Software Ltd',
      '1 Dock Rd',
      'PAID',
      `Invoice number ${inv.number}`,
      'Paying Co',
      'PO number PO-CARD-7',
      '1 × Enterprise (at $199.00 / month)',
      'Total $199.00',
      'Amount paid $199.00',
      'Amount due $0.00',
      'Charged to the card on file',
    ])
      expect(page).toContain(text);
  });

  it('a promotion code shows as a named discount on the PDF, with exact totals', async () => {
    const promo = await createTestOrg(t, 'Promo Co');
    await t.request('POST', `/v1/orgs/${promo.id}/payment-methods`, {
      token: promo.key,
      body: { payment_method_id: 'pm_card_visa' },
    });
    const sub = await t.request('POST', `/v1/orgs/${promo.id}/subscription`, {
      token: promo.key,
      body: { plan: 'enterprise', promotion_code: 'LAUNCH20' },
    });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    const [inv] = (await t.request('GET', invoicesPath(promo), { token: promo.key })).body.data;
    expect(inv).toMatchObject({ subtotal: 19_900, total: 15_920, amount_paid: 15_920 });
    const { bytes } = await download(`/v1/orgs/${promo.id}/invoices/${inv.id}/pdf`, promo.key);
    const [page] = await pdfText(bytes);
    for (const text of ['Subtotal $199.00', 'Launch: 20% off for 3 months -$39.80', 'Total $159.20'])
      expect(page).toContain(text);
  });

  it("another org's invoice, an unknown id and a draft have no PDF here", async () => {
    const [theirs] = (await t.request('GET', invoicesPath(other), { token: other.key })).body.data;
    const cross = await t.request('GET', `/v1/orgs/${paying.id}/invoices/${theirs.id}/pdf`, {
      token: paying.key,
    });
    expect(cross.status).toBe(404);
    expect(cross.body.error.code).toBe('not_found');
    const unknown = await t.request('GET', `/v1/orgs/${paying.id}/invoices/in_doesNotExist0000/pdf`, {
      token: paying.key,
    });
    expect(unknown.status).toBe(404);

    const draft = await t.deps.stripe.invoices.create({
      customer: await customerOf(other),
      auto_advance: false,
    });
    const refused = await t.request('GET', `/v1/orgs/${other.id}/invoices/${draft.id}/pdf`, {
      token: other.key,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/draft/);
    const list = (await t.request('GET', invoicesPath(other, '?refresh=true'), { token: other.key })).body;
    expect(list.data.map((i: { id: string }) => i.id)).not.toContain(draft.id);
    await t.deps.stripe.invoices.del(draft.id);
  });

  it("an upgrade's invoice shows at once, without waiting for the refresh interval", async () => {
    const before = await t.request('GET', invoicesPath(other), { token: other.key });
    expect(before.body.data).toHaveLength(1);
    const upgrade = await t.request('PATCH', `/v1/orgs/${other.id}/subscription`, {
      token: other.key,
      body: { plan: 'enterprise', interval: 'year' },
    });
    expect(upgrade.status, JSON.stringify(upgrade.body)).toBe(200);
    expect(upgrade.body.change).toBe('upgrade');
    const after = await t.request('GET', invoicesPath(other), { token: other.key });
    expect(after.body.data).toHaveLength(2);
    // Invoices created within the same second have no defined order: find it by id.
    const latest = after.body.data.find(
      (i: { id: string }) => i.id === upgrade.body.subscription.latest_invoice_id,
    );
    expect(latest).toMatchObject({ billing_reason: 'subscription_update', status: 'paid' });
    expect(latest.amount_paid).toBeGreaterThan(0);

    // Its PDF shows the proration lines as Stripe wrote them, and totals that match Stripe's.
    const stripe = await t.deps.stripe.invoices.retrieve(latest.id);
    const credit = stripe.lines.data.find((l) => l.amount < 0)!;
    expect(credit.description).toMatch(/^Unused time on /);
    const { bytes } = await download(`/v1/orgs/${other.id}/invoices/${stripe.id}/pdf`, other.key);
    const [page] = await pdfText(bytes);
    expect(page).toContain(credit.description);
    expect(page).toContain(formatMoney(credit.amount, 'usd'));
    expect(page).toContain(`Total ${formatMoney(stripe.total, 'usd')}`);
  });

  it('a late, older observation of an invoice never regresses the projection', async () => {
    const [inv] = (await t.request('GET', invoicesPath(paying), { token: paying.key })).body.data;
    const stale = {
      ...(await t.deps.stripe.invoices.retrieve(inv.id)),
      status: 'open',
      amount_paid: 0,
    } as const;
    const written = await withOrgTx(t.deps.database, paying.id, (tx) =>
      applyInvoice(tx, paying.id, stale as unknown as Stripe.Invoice, 1),
    );
    expect(written).toBe(false);
    const [now] = (await t.request('GET', invoicesPath(paying), { token: paying.key })).body.data;
    expect(now).toMatchObject({ id: inv.id, status: 'paid', amount_paid: 19_900 });
  });

  it('pages newest first with a cursor; the projection refreshes after a minute or on request', async () => {
    const customer = await customerOf(paying);
    const made: string[] = [];
    for (let i = 1; i <= 4; i++) made.push((await manualInvoice(customer, 1_000 * i, `Consulting ${i}`)).id);

    // Read a moment ago: the new invoices are not in the projection until it is refreshed.
    const cached = await t.request('GET', invoicesPath(paying), { token: paying.key });
    expect(cached.body.data).toHaveLength(1);
    const refreshed = await t.request('GET', invoicesPath(paying, '?refresh=true&limit=2'), {
      token: paying.key,
    });
    expect(refreshed.status).toBe(200);

    const seen: { id: string; created: string; status: string }[] = [...refreshed.body.data];
    let page = refreshed.body;
    while (page.has_more) {
      page = (
        await t.request('GET', invoicesPath(paying, `?limit=2&starting_after=${seen.at(-1)!.id}`), {
          token: paying.key,
        })
      ).body;
      expect(page.data.length).toBeGreaterThan(0);
      seen.push(...page.data);
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen.map((i) => i.id)).size).toBe(5);
    expect(seen.map((i) => i.id)).toEqual(expect.arrayContaining(made));
    const times = seen.map((i) => Date.parse(i.created));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    // A change made in Stripe shows up by itself once the projection is a minute old.
    await t.deps.stripe.invoices.voidInvoice(made[0]!);
    const before = await t.request('GET', invoicesPath(paying, '?limit=10'), { token: paying.key });
    expect(before.body.data.find((i: { id: string }) => i.id === made[0]).status).toBe('open');
    t.deps.clock.advance(61_000);
    const after = await t.request('GET', invoicesPath(paying, '?limit=10'), { token: paying.key });
    expect(after.body.data.find((i: { id: string }) => i.id === made[0]).status).toBe('void');

    const bad = await t.request('GET', invoicesPath(paying, `?starting_after=${made[0]}x`), {
      token: paying.key,
    });
    expect(bad.status).toBe(400);
    const foreign = (await t.request('GET', invoicesPath(other), { token: other.key })).body.data[0].id;
    const wrongCursor = await t.request('GET', invoicesPath(paying, `?starting_after=${foreign}`), {
      token: paying.key,
    });
    expect(wrongCursor.status).toBe(400);
    expect(wrongCursor.body.error.details.issues[0].field).toBe('starting_after');
  });

  it('a void invoice PDF says VOID', async () => {
    const list = (await t.request('GET', invoicesPath(paying, '?limit=10'), { token: paying.key })).body.data;
    const voided = list.find((i: { status: string }) => i.status === 'void');
    const { res, bytes } = await download(`/v1/orgs/${paying.id}/invoices/${voided.id}/pdf`, TEST_ADMIN_KEY);
    expect(res.status).toBe(200);
    const [page] = await pdfText(bytes);
    expect(page).toContain('VOID');
    expect(page).toContain('Consulting 1');
    expect(page).toContain('This invoice was voided');
  });
});
