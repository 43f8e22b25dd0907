import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTollgateClient, TollgateError } from '../../../packages/client/src/index.ts';
import { seedCatalog } from './catalogFixture.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from './harness.ts';
import { pdfText } from './pdfText.ts';

let t: TestApp;
let org: TestOrg;

beforeAll(async () => {
  t = await startTestApp();
  await seedCatalog(t);
  org = await createTestOrg(t, 'Client Invoices Co');
  const client = createTollgateClient({ baseUrl: t.url, token: org.key, org: org.id });
  await client.addPaymentMethod('pm_card_visa');
  await client.subscribe('enterprise');
});
afterAll(() => t.close());

describe('@tollgate/client: invoices, PDFs, payments, refunds', () => {
  it('lists invoices and downloads one as PDF bytes', async () => {
    const client = createTollgateClient({ baseUrl: t.url, token: org.member.jwt, org: org.id });
    const invoices = await client.getInvoices({ limit: 5 });
    expect(invoices.data).toHaveLength(1);
    const inv = invoices.data[0]!;
    expect(inv).toMatchObject({ status: 'paid', total: 19_900 });
    const pdf = await client.getInvoicePdf(inv.id);
    expect(pdf).toBeInstanceOf(ArrayBuffer);
    const [page] = await pdfText(new Uint8Array(pdf));
    expect(page).toContain(inv.number!);
    const missing = await client.getInvoicePdf('in_doesNotExist0000').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(TollgateError);
    expect((missing as TollgateError).status).toBe(404);
    expect((missing as TollgateError).code).toBe('not_found');
  });

  it('pages payments and refunds one as an operator (members get 403)', async () => {
    const member = createTollgateClient({ baseUrl: t.url, token: org.member.jwt, org: org.id });
    const page = await member.getPayments({ limit: 1, offset: 0, refresh: true });
    expect(page.total_count).toBe(1);
    const payment = page.data[0]!;
    expect(payment).toMatchObject({ status: 'succeeded', card_last4: '4242' });
    const denied = await member
      .refundPayment(payment.id, { amount: 100, idempotencyKey: 'client-refund-1' })
      .catch((e: unknown) => e);
    expect((denied as TollgateError).status).toBe(403);

    const operator = createTollgateClient({ baseUrl: t.url, token: TEST_ADMIN_KEY, org: org.id });
    const refunded = await operator.refundPayment(payment.id, {
      amount: 900,
      idempotencyKey: 'client-refund-2',
    });
    expect(refunded.refund.amount_cents).toBe(900);
    expect(refunded.payment.status).toBe('partially_refunded');
    const after = await member.getPayments({ startingAfter: undefined });
    expect(after.data[0]).toMatchObject({ id: payment.id, amount_refunded_cents: 900 });
  });
});
