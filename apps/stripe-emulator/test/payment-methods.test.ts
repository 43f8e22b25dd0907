import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PaymentMethods } from '../src/resources/payments/tables.ts';
import { eventsOfType, startTestEmulator, type TestEmulator } from './helpers.ts';

let t: TestEmulator;
let customer: string;
beforeAll(async () => {
  t = await startTestEmulator();
  customer = (await t.stripe.customers.create({ email: 'cards@example.com' })).id;
});
afterAll(() => t.stop());

const year = new Date().getUTCFullYear() + 2;

function rawCard(number: string, extra: Record<string, unknown> = {}) {
  return t.stripe.paymentMethods.create({
    type: 'card',
    card: { number, exp_month: 12, exp_year: year, cvc: '123', ...extra },
  });
}

describe('test cards', () => {
  test('magic ids become fresh stored PaymentMethods with card details', async () => {
    const a = await t.stripe.paymentMethods.attach('pm_card_visa', { customer });
    const b = await t.stripe.paymentMethods.attach('pm_card_visa', { customer });
    expect(a.id).not.toBe(b.id);
    expect(a.id).toMatch(/^pm_[A-Za-z0-9]{24}$/);
    expect(a.card).toMatchObject({
      brand: 'visa',
      last4: '4242',
      funding: 'credit',
      country: 'US',
      exp_month: 12,
    });
    expect(a.card!.fingerprint).toBe(b.card!.fingerprint);
    const mc = await t.stripe.paymentMethods.attach('pm_card_mastercard', { customer });
    expect(mc.card).toMatchObject({ brand: 'mastercard', last4: '4444' });
    expect((await eventsOfType(t.stripe, 'payment_method.attached')).length).toBeGreaterThanOrEqual(3);
  });

  test.each([
    ['pm_card_chargeDeclined', 'card_declined', 'generic_decline'],
    ['pm_card_visa_chargeDeclined', 'card_declined', 'generic_decline'],
  ])('%s cannot be attached (402 %s)', async (id, code, declineCode) => {
    await expect(t.stripe.paymentMethods.attach(id, { customer })).rejects.toMatchObject({
      type: 'StripeCardError',
      statusCode: 402,
      code,
      decline_code: declineCode,
    });
  });

  test.each([
    ['4000000000000002', 'card_declined', 'generic_decline'],
    ['4000000000009995', 'card_declined', 'insufficient_funds'],
    ['4000000000000069', 'expired_card', 'expired_card'],
    ['4000000000000127', 'incorrect_cvc', 'incorrect_cvc'],
    ['4000000000000119', 'processing_error', 'processing_error'],
  ])('raw %s is created but declines on attach with %s', async (number, code, declineCode) => {
    const pm = await rawCard(number);
    expect(pm.card!.last4).toBe(number.slice(-4));
    await expect(t.stripe.paymentMethods.attach(pm.id, { customer })).rejects.toMatchObject({
      statusCode: 402,
      code,
      decline_code: declineCode,
    });
    expect((await t.stripe.paymentMethods.retrieve(pm.id)).customer).toBeNull();
  });

  test('4242424242424241 fails at creation with incorrect_number; bad expiry too', async () => {
    await expect(rawCard('4242424242424241')).rejects.toMatchObject({
      statusCode: 402,
      code: 'incorrect_number',
    });
    await expect(rawCard('4242424242424242', { exp_month: 13 })).rejects.toMatchObject({
      code: 'invalid_expiry_month',
    });
    await expect(rawCard('4242424242424242', { exp_year: 2001 })).rejects.toMatchObject({
      code: 'invalid_expiry_year',
    });
  });

  test.each([
    ['4000000000000341'],
    ['4000002760003184'],
    ['4000002500003155'],
    ['4000000000003220'],
    ['4000008260003178'],
    ['4100000000000019'],
    ['5555555555554444'],
  ])('raw %s attaches fine', async (number) => {
    const pm = await rawCard(number);
    expect((await t.stripe.paymentMethods.attach(pm.id, { customer })).customer).toBe(customer);
  });

  test('never stores the card number or CVC', async () => {
    const pm = await rawCard('4000002760003184');
    const stored = JSON.stringify([
      t.emulator.ctx.store.of(PaymentMethods).get(pm.id),
      t.emulator.ctx.store.of(PaymentMethods).meta(pm.id),
    ]);
    expect(stored).not.toContain('4000002760003184');
    expect(stored).not.toContain('"123"');
    expect(JSON.stringify(t.emulator.control.snapshot())).not.toContain('4000002760003184');
  });
});

describe('payment method routes', () => {
  test('update, detach, list and the customer views', async () => {
    const other = (await t.stripe.customers.create({ email: 'pmroutes@example.com' })).id;
    const pm = await t.stripe.paymentMethods.attach('pm_card_visa', { customer: other });
    const updated = await t.stripe.paymentMethods.update(pm.id, {
      billing_details: { name: 'Ann Smith' },
      card: { exp_month: 3 },
      metadata: { k: 'v' },
    });
    expect(updated).toMatchObject({
      billing_details: { name: 'Ann Smith' },
      card: { exp_month: 3 },
      metadata: { k: 'v' },
    });
    const [event] = await eventsOfType(t.stripe, 'payment_method.updated');
    expect(event!.data.previous_attributes).toMatchObject({ card: { exp_month: 12 } });

    expect((await t.stripe.paymentMethods.list({ customer: other })).data.map((x) => x.id)).toEqual([pm.id]);
    expect((await t.stripe.customers.retrievePaymentMethod(other, pm.id)).id).toBe(pm.id);
    const detached = await t.stripe.paymentMethods.detach(pm.id);
    expect(detached.customer).toBeNull();
    expect((await t.stripe.customers.listPaymentMethods(other)).data).toHaveLength(0);
    const [detachedEvent] = await eventsOfType(t.stripe, 'payment_method.detached');
    expect(detachedEvent!.data.object).toMatchObject({ id: pm.id, customer: null });
    await expect(t.stripe.paymentMethods.detach(pm.id)).rejects.toMatchObject({ statusCode: 400 });
  });

  test('a PaymentMethod belongs to one customer', async () => {
    const pm = await t.stripe.paymentMethods.attach('pm_card_visa', { customer });
    const other = (await t.stripe.customers.create({})).id;
    await expect(t.stripe.paymentMethods.attach(pm.id, { customer: other })).rejects.toMatchObject({
      statusCode: 400,
    });
  });

  test('publishable keys may create PaymentMethods (Stripe.js)', async () => {
    const pk = t.client('pk_test_123');
    const pm = await pk.paymentMethods.create({ type: 'card', card: { token: 'tok_mastercard' } });
    expect(pm.card!.brand).toBe('mastercard');
  });
});
