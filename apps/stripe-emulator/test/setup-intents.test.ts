import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventsOfType, startTestEmulator, type TestEmulator } from './helpers.ts';

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(() => t.stop());

async function newCustomer() {
  return (await t.stripe.customers.create({ email: 'si@example.com' })).id;
}

async function typesFor(id: string): Promise<string[]> {
  const events = await t.stripe.events.list({ limit: 100 });
  return events.data
    .filter((e) => (e.data.object as { id: string }).id === id)
    .map((e) => e.type)
    .reverse();
}

describe('setup intents', () => {
  test('succeeds with a good card and attaches it', async () => {
    const customer = await newCustomer();
    const si = await t.stripe.setupIntents.create({
      customer,
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    expect(si).toMatchObject({ object: 'setup_intent', status: 'succeeded', usage: 'off_session', customer });
    expect(si.client_secret).toMatch(new RegExp(`^${si.id}_secret_`));
    expect((await t.stripe.paymentMethods.retrieve(si.payment_method as string)).customer).toBe(customer);
    expect(await typesFor(si.id)).toEqual(['setup_intent.created', 'setup_intent.succeeded']);
  });

  test('two-step: create, then confirm with a payment method', async () => {
    const customer = await newCustomer();
    const si = await t.stripe.setupIntents.create({ customer });
    expect(si.status).toBe('requires_payment_method');
    const confirmed = await t.stripe.setupIntents.confirm(si.id, { payment_method: 'pm_card_mastercard' });
    expect(confirmed.status).toBe('succeeded');
    await expect(t.stripe.setupIntents.confirm(si.id)).rejects.toMatchObject({ statusCode: 400 });
  });

  test('a declining card fails with 402 and setup_intent.setup_failed', async () => {
    const customer = await newCustomer();
    const err = await t.stripe.setupIntents
      .create({ customer, payment_method: 'pm_card_chargeDeclined', confirm: true })
      .catch((e) => e);
    expect(err).toMatchObject({ statusCode: 402, code: 'card_declined', decline_code: 'generic_decline' });
    const si = err.raw.setup_intent;
    expect(si.status).toBe('requires_payment_method');
    expect(si.last_setup_error).toMatchObject({ code: 'card_declined', decline_code: 'generic_decline' });
    expect(await typesFor(si.id)).toEqual(['setup_intent.created', 'setup_intent.setup_failed']);
  });

  test.each([
    'pm_card_authenticationRequired',
    'pm_card_authenticationRequiredOnSetup',
    'pm_card_threeDSecure2Required',
  ])('%s requires 3-D Secure; completing it succeeds', async (card) => {
    const customer = await newCustomer();
    const si = await t.stripe.setupIntents.create({ customer, payment_method: card, confirm: true });
    expect(si.status).toBe('requires_action');
    expect(si.next_action).toMatchObject({ type: 'use_stripe_sdk' });
    const done = t.emulator.control.authenticate(si.id, 'succeed') as { status: string };
    expect(done.status).toBe('succeeded');
    const after = await t.stripe.setupIntents.retrieve(si.id);
    expect(after.status).toBe('succeeded');
    expect((await t.stripe.paymentMethods.retrieve(after.payment_method as string)).customer).toBe(customer);
    const types = await typesFor(si.id);
    expect(types).toEqual(['setup_intent.created', 'setup_intent.requires_action', 'setup_intent.succeeded']);
    const succeeded = (await eventsOfType(t.stripe, 'setup_intent.succeeded')).find(
      (e) => (e.data.object as { id: string }).id === si.id,
    )!;
    expect(succeeded.request).toBeNull();
  });

  test('failing 3-D Secure returns to requires_payment_method with setup_failed', async () => {
    const customer = await newCustomer();
    const si = await t.stripe.setupIntents.create({
      customer,
      payment_method: 'pm_card_authenticationRequired',
      confirm: true,
      return_url: 'https://app.example.com/done',
    });
    expect(si.next_action).toMatchObject({
      type: 'redirect_to_url',
      redirect_to_url: { return_url: 'https://app.example.com/done' },
    });
    const res = await fetch(`${t.emulator.url}/_emulator/authenticate/${si.id}`, {
      method: 'POST',
      body: JSON.stringify({ outcome: 'fail' }),
    });
    expect(res.status).toBe(200);
    const after = await t.stripe.setupIntents.retrieve(si.id);
    expect(after.status).toBe('requires_payment_method');
    expect(after.last_setup_error?.code).toBe('setup_intent_authentication_failure');
    expect(await typesFor(si.id)).toContain('setup_intent.setup_failed');
  });

  test('the 3-D Secure page posts back and redirects to the return_url', async () => {
    const customer = await newCustomer();
    const si = await t.stripe.setupIntents.create({
      customer,
      payment_method: 'pm_card_authenticationRequired',
      confirm: true,
      return_url: 'https://app.example.com/back',
    });
    const pageUrl = si.next_action!.redirect_to_url!.url!;
    const page = await fetch(pageUrl);
    expect(await page.text()).toContain('Complete authentication');
    const posted = await fetch(`${t.emulator.url}/_emulator/3ds/${si.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'outcome=succeed&return_url=https%3A%2F%2Fapp.example.com%2Fback',
      redirect: 'manual',
    });
    expect(posted.status).toBe(302);
    const location = new URL(posted.headers.get('location')!);
    expect(location.searchParams.get('setup_intent')).toBe(si.id);
    expect(location.searchParams.get('redirect_status')).toBe('succeeded');
    expect((await t.stripe.setupIntents.retrieve(si.id)).status).toBe('succeeded');
  });

  test('confirm with a publishable key needs the client_secret', async () => {
    const customer = await newCustomer();
    const si = await t.stripe.setupIntents.create({ customer });
    const pk = t.client('pk_test_123');
    await expect(pk.setupIntents.confirm(si.id, { payment_method: 'pm_card_visa' })).rejects.toMatchObject({
      statusCode: 400,
      param: 'client_secret',
    });
    const confirmed = await pk.setupIntents.confirm(si.id, {
      payment_method: 'pm_card_visa',
      client_secret: si.client_secret!,
    } as never);
    expect(confirmed.status).toBe('succeeded');
  });

  test('cancel, list', async () => {
    const customer = await newCustomer();
    const si = await t.stripe.setupIntents.create({ customer });
    const canceled = await t.stripe.setupIntents.cancel(si.id, { cancellation_reason: 'abandoned' });
    expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned' });
    await expect(t.stripe.setupIntents.cancel(si.id)).rejects.toMatchObject({ statusCode: 400 });
    expect(await typesFor(si.id)).toEqual(['setup_intent.created', 'setup_intent.canceled']);
    const list = await t.stripe.setupIntents.list({ customer });
    expect(list.data.map((x) => x.id)).toEqual([si.id]);
  });
});
