import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventsOfType, startTestEmulator, type TestEmulator } from './helpers.ts';

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(() => t.stop());

describe('customers', () => {
  test('create renders every field Stripe returns and emits customer.created', async () => {
    const customer = await t.stripe.customers.create({
      email: 'ann@example.com',
      name: 'Ann',
      phone: '+33100000000',
      description: 'first',
      balance: -500,
      metadata: { org: 'org_1' },
      address: { line1: '1 rue X', city: 'Paris', country: 'FR' },
      shipping: { name: 'Ann', address: { line1: '1 rue X', country: 'FR' } },
      preferred_locales: ['fr'],
    });
    expect(customer).toMatchObject({
      object: 'customer',
      email: 'ann@example.com',
      name: 'Ann',
      balance: -500,
      livemode: false,
      delinquent: false,
      test_clock: null,
      address: { line1: '1 rue X', city: 'Paris', country: 'FR', state: null },
      shipping: { name: 'Ann', phone: null, address: { country: 'FR' } },
      invoice_settings: { default_payment_method: null, custom_fields: null, footer: null },
      metadata: { org: 'org_1' },
    });
    expect(customer.id).toMatch(/^cus_[A-Za-z0-9]{24}$/);
    const [event] = await eventsOfType(t.stripe, 'customer.created');
    expect(event!.data.object).toMatchObject({ id: customer.id, email: 'ann@example.com' });
    expect(event!.request).toMatchObject({ id: expect.stringMatching(/^req_/) });
    expect(event!.api_version).toBe('2026-10-28.endive');
  });

  test('update emits customer.updated with previous_attributes of the changed fields only', async () => {
    const customer = await t.stripe.customers.create({
      email: 'old@example.com',
      metadata: { a: '1', b: '2' },
    });
    const updated = await t.stripe.customers.update(customer.id, {
      email: 'new@example.com',
      metadata: { b: '', c: '3' },
    });
    expect(updated.metadata).toEqual({ a: '1', c: '3' });
    const events = await eventsOfType(t.stripe, 'customer.updated');
    const event = events.find((e) => (e.data.object as { id: string }).id === customer.id)!;
    expect(event.data.previous_attributes).toEqual({
      email: 'old@example.com',
      metadata: { b: '2', c: null },
    });
  });

  test('delete answers the deleted stub, retrieve keeps answering it, update is a 404', async () => {
    const customer = await t.stripe.customers.create({ email: 'gone@example.com' });
    expect(await t.stripe.customers.del(customer.id)).toMatchObject({
      id: customer.id,
      object: 'customer',
      deleted: true,
    });
    expect(await t.stripe.customers.retrieve(customer.id)).toMatchObject({ deleted: true });
    await expect(t.stripe.customers.update(customer.id, { name: 'x' })).rejects.toMatchObject({
      statusCode: 404,
    });
    const [event] = await eventsOfType(t.stripe, 'customer.deleted');
    expect(event!.data.object).toMatchObject({ id: customer.id, email: 'gone@example.com' });
  });

  test('default payment method must be attached; magic ids are attached on the fly', async () => {
    const customer = await t.stripe.customers.create({ email: 'pm@example.com' });
    const loose = await t.stripe.paymentMethods.create({ type: 'card', card: { token: 'tok_visa' } });
    await expect(
      t.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: loose.id } }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'invoice_settings[default_payment_method]' });
    await expect(
      t.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: 'pm_nope' } }),
    ).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
    const updated = await t.stripe.customers.update(customer.id, {
      invoice_settings: { default_payment_method: 'pm_card_mastercard' },
    });
    const pmId = updated.invoice_settings.default_payment_method as string;
    const pm = await t.stripe.paymentMethods.retrieve(pmId);
    expect(pm).toMatchObject({ customer: customer.id, card: { brand: 'mastercard', last4: '4444' } });
    // Detaching the default clears it, like Stripe.
    await t.stripe.paymentMethods.detach(pmId);
    expect((await t.stripe.customers.retrieve(customer.id)) as { invoice_settings: unknown }).toMatchObject({
      invoice_settings: { default_payment_method: null },
    });
  });

  test('payment_method on create attaches it', async () => {
    const customer = await t.stripe.customers.create({ payment_method: 'pm_card_visa' });
    const pms = await t.stripe.customers.listPaymentMethods(customer.id);
    expect(pms.data).toHaveLength(1);
    expect(pms.data[0]!.card!.last4).toBe('4242');
  });

  test('tax ids: tax_id_data on create and the sub-resource', async () => {
    const customer = await t.stripe.customers.create({
      name: 'ACME',
      tax_id_data: [{ type: 'eu_vat', value: 'DE123456789' }],
    });
    const list = await t.stripe.customers.listTaxIds(customer.id);
    expect(list.data).toHaveLength(1);
    expect(list.data[0]).toMatchObject({
      object: 'tax_id',
      type: 'eu_vat',
      country: 'DE',
      customer: customer.id,
    });
    const gb = await t.stripe.customers.createTaxId(customer.id, { type: 'gb_vat', value: 'GB123456789' });
    expect((await t.stripe.customers.listTaxIds(customer.id)).data).toHaveLength(2);
    expect(await t.stripe.customers.deleteTaxId(customer.id, gb.id)).toMatchObject({ deleted: true });
    await expect(t.stripe.customers.retrieveTaxId(customer.id, gb.id)).rejects.toMatchObject({
      statusCode: 404,
    });
    await expect(
      t.stripe.customers.createTaxId(customer.id, { type: 'xx_vat' as never, value: '1' }),
    ).rejects.toMatchObject({
      statusCode: 400,
      param: 'type',
    });
    const expanded = await t.stripe.customers.retrieve(customer.id, { expand: ['tax_ids'] });
    expect((expanded as { tax_ids?: { data: unknown[] } }).tax_ids!.data).toHaveLength(1);
    expect((await eventsOfType(t.stripe, 'customer.tax_id.created')).length).toBeGreaterThanOrEqual(2);
  });

  test('test-clock customers: created at the frozen time, listed only with test_clock', async () => {
    const clock = await t.stripe.testHelpers.testClocks.create({ frozen_time: 1_700_000_000 });
    const customer = await t.stripe.customers.create({ email: 'clock@example.com', test_clock: clock.id });
    expect(customer.created).toBe(1_700_000_000);
    expect(customer.test_clock).toBe(clock.id);
    const all = await t.stripe.customers.list({ limit: 100 });
    expect(all.data.map((c) => c.id)).not.toContain(customer.id);
    const onClock = await t.stripe.customers.list({ test_clock: clock.id });
    expect(onClock.data.map((c) => c.id)).toEqual([customer.id]);
    await expect(t.stripe.customers.create({ test_clock: 'clock_nope' })).rejects.toMatchObject({
      statusCode: 404,
      param: 'test_clock',
    });
  });

  test('sources are refused with a clear message', async () => {
    await expect(t.stripe.customers.create({ source: 'tok_visa' })).rejects.toMatchObject({
      statusCode: 400,
      param: 'source',
    });
  });
});
