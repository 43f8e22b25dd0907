import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestEmulator, type TestEmulator } from './helpers.ts';

let t: TestEmulator;
const ids: string[] = [];
beforeAll(async () => {
  t = await startTestEmulator();
  for (let i = 0; i < 25; i++) {
    const c = await t.stripe.customers.create({
      email: `list${i}@example.com`,
      name: i % 2 === 0 ? `Even Person ${i}` : `Odd Person ${i}`,
      metadata: { batch: 'lists', parity: i % 2 === 0 ? 'even' : 'odd' },
    });
    ids.push(c.id);
  }
});
afterAll(() => t.stop());

describe('lists', () => {
  test('newest first, default limit 10, has_more and url', async () => {
    const page = await t.stripe.customers.list();
    expect(page.object).toBe('list');
    expect(page.url).toBe('/v1/customers');
    expect(page.data).toHaveLength(10);
    expect(page.has_more).toBe(true);
    expect(page.data.map((c) => c.id)).toEqual(ids.slice(-10).reverse());
  });

  test('starting_after and ending_before walk the pages', async () => {
    const first = await t.stripe.customers.list({ limit: 7 });
    const second = await t.stripe.customers.list({ limit: 7, starting_after: first.data.at(-1)!.id });
    expect(second.data.map((c) => c.id)).toEqual(ids.slice(-14, -7).reverse());
    const back = await t.stripe.customers.list({ limit: 7, ending_before: second.data[0]!.id });
    expect(back.data.map((c) => c.id)).toEqual(first.data.map((c) => c.id));
    expect(back.has_more).toBe(false);
  });

  test('auto-pagination visits every object once', async () => {
    const all = await t.stripe.customers.list({ limit: 4 }).autoPagingToArray({ limit: 100 });
    expect(all.map((c) => c.id)).toEqual([...ids].reverse());
  });

  test('limit must be 1..100', async () => {
    await expect(t.stripe.customers.list({ limit: 101 })).rejects.toMatchObject({
      statusCode: 400,
      param: 'limit',
    });
    await expect(t.stripe.customers.list({ limit: 0 })).rejects.toMatchObject({
      statusCode: 400,
      param: 'limit',
    });
  });

  test('an unknown cursor is a 404 on starting_after', async () => {
    await expect(t.stripe.customers.list({ starting_after: 'cus_nope' })).rejects.toMatchObject({
      statusCode: 404,
      param: 'starting_after',
    });
  });

  test('filters: email', async () => {
    const page = await t.stripe.customers.list({ email: 'list3@example.com' });
    expect(page.data.map((c) => c.id)).toEqual([ids[3]]);
  });
});

describe('search', () => {
  test('metadata, email and AND / OR', async () => {
    const even = await t.stripe.customers.search({ query: "metadata['parity']:'even'", limit: 100 });
    expect(even.object).toBe('search_result');
    expect(even.data).toHaveLength(13);
    const one = await t.stripe.customers.search({
      query: `email:'list4@example.com' AND metadata["parity"]:"even"`,
    });
    expect(one.data.map((c) => c.id)).toEqual([ids[4]]);
    const two = await t.stripe.customers.search({
      query: `email:'list4@example.com' OR email:'list5@example.com'`,
    });
    expect(new Set(two.data.map((c) => c.id))).toEqual(new Set([ids[4], ids[5]]));
  });

  test('substring with ~ and negation', async () => {
    const odd = await t.stripe.customers.search({ query: "name~'odd pers'", limit: 100 });
    expect(odd.data).toHaveLength(12);
    const notOdd = await t.stripe.customers.search({
      query: "-metadata['parity']:'odd' AND metadata['batch']:'lists'",
      limit: 100,
    });
    expect(notOdd.data).toHaveLength(13);
  });

  test('pages with next_page and reports total_count when expanded', async () => {
    const first = await t.stripe.customers.search({
      query: "metadata['batch']:'lists'",
      limit: 10,
      expand: ['total_count'],
    });
    expect(first.has_more).toBe(true);
    expect(first.total_count).toBe(25);
    expect(first.next_page).toBeTruthy();
    const second = await t.stripe.customers.search({
      query: "metadata['batch']:'lists'",
      limit: 10,
      page: first.next_page!,
    });
    expect(second.data.map((c) => c.id)).not.toContain(first.data[0]!.id);
    const all = await t.stripe.customers
      .search({ query: "metadata['batch']:'lists'", limit: 10 })
      .autoPagingToArray({
        limit: 100,
      });
    expect(all).toHaveLength(25);
  });

  test('bad queries and unsupported fields are 400s', async () => {
    await expect(t.stripe.customers.search({ query: 'email = x' })).rejects.toMatchObject({
      statusCode: 400,
      param: 'query',
    });
    await expect(t.stripe.customers.search({ query: "planet:'mars'" })).rejects.toMatchObject({
      statusCode: 400,
      message: expect.stringContaining('unsupported search field'),
    });
  });
});

describe('expand', () => {
  test('expands references, nested paths and data.x on lists; refuses unknown ones', async () => {
    const customer = await t.stripe.customers.create({ email: 'exp@example.com' });
    const pi = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      customer: customer.id,
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const expanded = await t.stripe.paymentIntents.retrieve(pi.id, {
      expand: ['customer', 'latest_charge.payment_method', 'payment_method'],
    });
    expect(expanded.customer).toMatchObject({ id: customer.id, object: 'customer' });
    expect(expanded.latest_charge).toMatchObject({
      object: 'charge',
      payment_method: { object: 'payment_method', card: { last4: '4242' } },
    });
    const list = await t.stripe.paymentIntents.list({ customer: customer.id, expand: ['data.customer'] });
    expect(list.data[0]!.customer).toMatchObject({ email: 'exp@example.com' });
    await expect(t.stripe.paymentIntents.retrieve(pi.id, { expand: ['amount'] })).rejects.toMatchObject({
      statusCode: 400,
      message: 'This property cannot be expanded (amount).',
    });
    await t.stripe.customers.del(customer.id);
    const afterDelete = await t.stripe.paymentIntents.retrieve(pi.id, { expand: ['customer'] });
    expect(afterDelete.customer).toEqual({ id: customer.id, object: 'customer', deleted: true });
  });
});
