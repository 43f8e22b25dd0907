import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDate } from '../src/modules/invoices/renderInvoicePdf.ts';
import { advanceBoth, seedCatalog } from './catalogFixture.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, type TestApp } from './harness.ts';
import { pdfText } from './pdfText.ts';

const DAY = 86_400;
let t: TestApp;
let school: TestOrg;

beforeAll(async () => {
  t = await startTestApp();
  await seedCatalog(t);
  school = await createTestOrg(t, 'Springfield Elementary');
});
afterAll(() => t.close());

describe('institutions pay by invoice', () => {
  it('net-30 invoice billing: an open invoice due 30 days after finalization, never charged, PO and tax id printed', async () => {
    const profile = await t.request('PATCH', `/v1/orgs/${school.id}`, {
      token: school.admin.jwt,
      body: {
        collection_method: 'send_invoice',
        days_until_due: 30,
        po_number: 'PO-2026-118',
        tax_id: { type: 'eu_vat', value: 'DE123456789' },
        billing_email: 'accounts@springfield.test',
        address: { line1: '19 Plympton St', city: 'Springfield', postal_code: '49007', country: 'US' },
      },
    });
    expect(profile.status, JSON.stringify(profile.body)).toBe(200);

    // No card on file: invoice billing does not need one.
    const sub = await t.request('POST', `/v1/orgs/${school.id}/subscription`, {
      token: school.admin.jwt,
      body: { plan: 'enterprise' },
    });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    expect(sub.body.subscription.collection_method).toBe('send_invoice');
    expect(sub.body.requires_action).toBe(false);

    const list = await t.request('GET', `/v1/orgs/${school.id}/invoices`, { token: school.member.jwt });
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(1);
    const [inv] = list.body.data;
    expect(inv).toMatchObject({
      status: 'open',
      collection_method: 'send_invoice',
      billing_reason: 'subscription_create',
      total: 19_900,
      amount_due: 19_900,
      amount_paid: 0,
      amount_remaining: 19_900,
      paid_at: null,
    });

    const stripe = await t.deps.stripe.invoices.retrieve(inv.id);
    const finalizedAt = stripe.status_transitions.finalized_at!;
    expect(finalizedAt).toBeGreaterThan(0);
    expect(stripe.due_date).toBe(finalizedAt + 30 * DAY);
    expect(inv.due_date).toBe(new Date((finalizedAt + 30 * DAY) * 1000).toISOString());
    expect(stripe.custom_fields).toEqual(
      expect.arrayContaining([
        { name: 'PO number', value: 'PO-2026-118' },
        { name: 'Tax ID', value: 'DE123456789' },
      ]),
    );
    const customer = stripe.customer as string;
    const taxIds = await t.deps.stripe.customers.listTaxIds(customer);
    expect(taxIds.data.map((x) => [x.type, x.value])).toEqual([['eu_vat', 'DE123456789']]);

    // Ten days later (the emulator's clock and ours): still open, no attempt, no charge.
    await advanceBoth(t, 10 * DAY);
    const later = await t.deps.stripe.invoices.retrieve(inv.id);
    expect(later.status).toBe('open');
    expect(later.attempt_count).toBe(0);
    expect(later.amount_paid).toBe(0);
    expect((await t.deps.stripe.charges.list({ customer })).data).toEqual([]);
    const payments = await t.request('GET', `/v1/orgs/${school.id}/payments?refresh=true`, {
      token: school.key,
    });
    expect(payments.status).toBe(200);
    expect(payments.body.data).toEqual([]);
    const subscription = await t.request('GET', `/v1/orgs/${school.id}/subscription`, { token: school.key });
    expect(subscription.body.status).toBe('active');

    const res = await fetch(`${t.url}/v1/orgs/${school.id}/invoices/${inv.id}/pdf`, {
      headers: { authorization: `Bearer ${school.member.jwt}` },
    });
    expect(res.status).toBe(200);
    const [page] = await pdfText(new Uint8Array(await res.arrayBuffer()));
    for (const text of [
      `Invoice number ${inv.number}`,
      'DUE',
      'PO number PO-2026-118',
      'DE123456789',
      'Payment terms Net 30',
      `Date due ${formatDate(finalizedAt + 30 * DAY)}`,
      `Please pay $199.00 by ${formatDate(finalizedAt + 30 * DAY)}`,
      `Pay online: ${stripe.hosted_invoice_url}`,
      'Springfield Elementary',
      '19 Plympton St',
      'accounts@springfield.test',
      'Amount due $199.00',
    ])
      expect(page).toContain(text);
  });

  it('paid out of band (bank transfer): the list and the PDF say PAID, still without a card charge', async () => {
    const [inv] = (await t.request('GET', `/v1/orgs/${school.id}/invoices`, { token: school.key })).body.data;
    const paid: Stripe.Invoice = await t.deps.stripe.invoices.pay(inv.id, { paid_out_of_band: true });
    expect(paid.status).toBe('paid');
    const list = await t.request('GET', `/v1/orgs/${school.id}/invoices?refresh=true`, { token: school.key });
    expect(list.body.data[0]).toMatchObject({ id: inv.id, status: 'paid', amount_remaining: 0 });
    const res = await fetch(`${t.url}/v1/orgs/${school.id}/invoices/${inv.id}/pdf`, {
      headers: { authorization: `Bearer ${school.key}` },
    });
    const [page] = await pdfText(new Uint8Array(await res.arrayBuffer()));
    expect(page).toContain('PAID');
    expect(page).not.toContain('Pay online');
    expect((await t.deps.stripe.charges.list({ customer: paid.customer as string })).data).toEqual([]);
  });
});
