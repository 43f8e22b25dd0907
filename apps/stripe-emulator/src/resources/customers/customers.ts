/**
 * /v1/customers: create, retrieve, update, delete, list, search.
 */
import type Stripe from 'stripe';
import { TestClocks } from '../../core/clock.ts';
import type { Emulator } from '../../core/context.ts';
import { diff, emitEvent } from '../../core/events.ts';
import { defineHook, runHook } from '../../core/hooks.ts';
import { randomAlphanumeric } from '../../core/ids.ts';
import { inRange, paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { searchRows } from '../../core/search.ts';
import { invalidRequest } from '../../http/errors.ts';
import { type Infer, p } from '../../http/params.ts';
import { isMagicPaymentMethodId } from '../payments/cards.ts';
import {
  attachPaymentMethod,
  paymentMethodDetached,
  resolvePaymentMethod,
} from '../payments/payment-method-ops.ts';
import { testClockDeleting } from '../platform/test-clocks.ts';
import { addressParams, keepOr, mergeMetadata, shippingParams, toAddress, toShipping } from '../shared.ts';
import { Customers } from './tables.ts';
import { createTaxId, taxIdTypes } from './tax-ids.ts';

/** Before a customer is deleted (subscriptions cancel, etc.). */
export const customerDeleting = defineHook<{ customer: Stripe.Customer }>('customer.deleting');

const invoiceSettingsParams = p.object({
  custom_fields: p.emptyable(
    p.array(p.object({ name: p.required(p.string()), value: p.required(p.string()) })),
  ),
  default_payment_method: p.emptyable(p.string()),
  footer: p.emptyable(p.string()),
  rendering_options: p.emptyable(
    p.object({ amount_tax_display: p.emptyable(p.string()), template: p.string() }),
  ),
});

const commonParams = {
  address: p.emptyable(addressParams),
  balance: p.int(),
  business_name: p.emptyable(p.string()),
  cash_balance: p.any(),
  description: p.emptyable(p.string()),
  email: p.emptyable(p.string({ maxLength: 512 })),
  individual_name: p.emptyable(p.string()),
  invoice_prefix: p.emptyable(p.string()),
  invoice_settings: invoiceSettingsParams,
  metadata: p.metadata(),
  name: p.emptyable(p.string({ maxLength: 256 })),
  next_invoice_sequence: p.int({ min: 1 }),
  phone: p.emptyable(p.string()),
  preferred_locales: p.emptyable(p.array(p.string())),
  shipping: p.emptyable(shippingParams),
  source: p.string(),
  tax: p.any(),
  tax_exempt: p.emptyable(p.enum(['exempt', 'none', 'reverse'])),
  validate: p.bool(),
};

const createParams = {
  ...commonParams,
  payment_method: p.string(),
  tax_id_data: p.array(p.object({ type: p.required(p.enum(taxIdTypes)), value: p.required(p.string()) })),
  test_clock: p.string(),
};

const updateParams = { ...commonParams, default_source: p.string() };

type InvoiceSettingsParams = Infer<typeof invoiceSettingsParams>;

function rejectSources(source: string | undefined): void {
  if (source !== undefined) {
    throw invalidRequest(
      'Sources are not supported by the emulator; attach a PaymentMethod instead.',
      'source',
      'parameter_unknown',
    );
  }
}

/** default_payment_method must name a PaymentMethod attached to this customer. */
function resolveDefaultPaymentMethod(ctx: Emulator, customerId: string, id: string | null): string | null {
  if (id === null) return null;
  const param = 'invoice_settings[default_payment_method]';
  // Magic test ids are accepted anywhere a PaymentMethod is: create and attach it here.
  if (isMagicPaymentMethodId(id))
    return attachPaymentMethod(ctx, resolvePaymentMethod(ctx, id, param).id, customerId).id;
  const pm = resolvePaymentMethod(ctx, id, param);
  if (pm.customer !== customerId) {
    throw invalidRequest(
      `The customer does not have a payment method with the ID ${id}. The payment method must be attached to the customer.`,
      param,
      'resource_missing',
    );
  }
  return pm.id;
}

function invoiceSettings(
  ctx: Emulator,
  customerId: string,
  old: Stripe.Customer.InvoiceSettings,
  params: InvoiceSettingsParams | undefined,
): Stripe.Customer.InvoiceSettings {
  if (!params) return old;
  return {
    custom_fields: keepOr(params.custom_fields, old.custom_fields),
    default_payment_method:
      params.default_payment_method === undefined
        ? old.default_payment_method
        : resolveDefaultPaymentMethod(ctx, customerId, params.default_payment_method),
    footer: keepOr(params.footer, old.footer),
    rendering_options:
      params.rendering_options === undefined
        ? old.rendering_options
        : params.rendering_options && {
            amount_tax_display: params.rendering_options.amount_tax_display ?? null,
            template: params.rendering_options.template ?? null,
          },
  };
}

type CommonParams = Infer<ReturnType<typeof p.object<typeof commonParams>>>;

/** Fields settable on both create and update. */
function applyCommon(ctx: Emulator, old: Stripe.Customer, params: CommonParams): Stripe.Customer {
  const next: Stripe.Customer = {
    ...old,
    address: params.address === undefined ? old.address : params.address && toAddress(params.address),
    balance: params.balance ?? old.balance,
    description: keepOr(params.description, old.description),
    email: keepOr(params.email, old.email),
    invoice_prefix: params.invoice_prefix === undefined ? old.invoice_prefix : params.invoice_prefix,
    metadata: mergeMetadata(old.metadata, params.metadata),
    name: keepOr(params.name, old.name ?? null),
    next_invoice_sequence: params.next_invoice_sequence ?? old.next_invoice_sequence,
    phone: keepOr(params.phone, old.phone ?? null),
    preferred_locales: keepOr(params.preferred_locales, old.preferred_locales ?? []) ?? [],
    shipping: params.shipping === undefined ? old.shipping : params.shipping && toShipping(params.shipping),
    tax_exempt: params.tax_exempt === undefined ? old.tax_exempt : (params.tax_exempt ?? 'none'),
  };
  if (params.business_name !== undefined) next.business_name = params.business_name ?? '';
  if (params.individual_name !== undefined) next.individual_name = params.individual_name ?? '';
  next.invoice_settings = invoiceSettings(ctx, old.id, old.invoice_settings, params.invoice_settings);
  return next;
}

const searchFields = {
  email: (c: Stripe.Customer) => c.email,
  name: (c: Stripe.Customer) => c.name,
  phone: (c: Stripe.Customer) => c.phone,
  metadata: (c: Stripe.Customer) => c.metadata,
  created: (c: Stripe.Customer) => c.created,
};

export function deleteCustomer(ctx: Emulator, customer: Stripe.Customer): void {
  runHook(ctx, customerDeleting, { customer });
  ctx.store.of(Customers).delete(customer.id);
  emitEvent(ctx, 'customer.deleted', customer);
}

export const customersModule: EmulatorModule = {
  name: 'customers',
  register(app) {
    app.post('/v1/customers', createParams, (req) => {
      const { ctx, params } = req;
      rejectSources(params.source);
      const table = ctx.store.of(Customers);
      let testClock: string | null = null;
      if (params.test_clock) testClock = ctx.store.of(TestClocks).require(params.test_clock, 'test_clock').id;
      const id = table.newId();
      const blank: Stripe.Customer = {
        id,
        object: 'customer',
        address: null,
        balance: 0,
        created: ctx.clock.now(testClock),
        currency: null,
        default_source: null,
        delinquent: false,
        description: null,
        discount: null,
        email: null,
        invoice_prefix: randomAlphanumeric(8).toUpperCase(),
        invoice_settings: {
          custom_fields: null,
          default_payment_method: null,
          footer: null,
          rendering_options: null,
        },
        livemode: false,
        metadata: {},
        name: null,
        next_invoice_sequence: 1,
        phone: null,
        preferred_locales: [],
        shipping: null,
        tax_exempt: 'none',
        test_clock: testClock,
      };
      // Insert first so default_payment_method / payment_method can attach to it; validation
      // failures below roll it back.
      table.insert(blank);
      let customer: Stripe.Customer;
      try {
        const { invoice_settings, ...rest } = params;
        customer = table.replace(applyCommon(ctx, blank, rest));
        if (params.payment_method) {
          attachPaymentMethod(ctx, resolvePaymentMethod(ctx, params.payment_method, 'payment_method').id, id);
        }
        if (invoice_settings) {
          customer = table.replace({
            ...customer,
            invoice_settings: invoiceSettings(ctx, id, customer.invoice_settings, invoice_settings),
          });
        }
      } catch (err) {
        table.rows.delete(id);
        throw err;
      }
      emitEvent(ctx, 'customer.created', customer);
      for (const datum of params.tax_id_data ?? []) createTaxId(ctx, customer, datum.type, datum.value);
      return customer;
    });

    app.search('/v1/customers/search', {}, (req) => {
      const table = req.ctx.store.of(Customers);
      return searchRows(req, table.sorted(), searchFields, 'customers');
    });

    app.get('/v1/customers/:id', {}, (req) => {
      const table = req.ctx.store.of(Customers);
      const id = req.path.id!;
      if (table.deleted.has(id)) return { id, object: 'customer', deleted: true };
      return table.require(id);
    });

    app.post('/v1/customers/:id', updateParams, (req) => {
      const { ctx, params } = req;
      rejectSources(params.source ?? params.default_source);
      const table = ctx.store.of(Customers);
      const old = table.require(req.path.id!);
      const next = table.replace(applyCommon(ctx, old, params));
      emitEvent(ctx, 'customer.updated', next, { previousAttributes: diff(old, next) });
      return next;
    });

    app.del('/v1/customers/:id', {}, (req) => {
      const customer = req.ctx.store.of(Customers).require(req.path.id!);
      deleteCustomer(req.ctx, customer);
      return { id: customer.id, object: 'customer', deleted: true };
    });

    app.list(
      '/v1/customers',
      { email: p.string({ maxLength: 512 }), created: p.range(), test_clock: p.string() },
      (req) => {
        const { email, created, test_clock } = req.params;
        const table = req.ctx.store.of(Customers);
        // Like Stripe: customers on test clocks are listed only when asking for that clock.
        const rows = table.sorted(
          (c) =>
            (test_clock ? c.test_clock === test_clock : !c.test_clock) &&
            (email === undefined || c.email === email) &&
            inRange(c.created, created),
        );
        return paginate(req, rows, table);
      },
    );

    app.on(testClockDeleting, (ctx, { clock }) => {
      // Deleting a test clock deletes the customers living on it.
      for (const customer of ctx.store.of(Customers).sorted((c) => c.test_clock === clock.id)) {
        deleteCustomer(ctx, customer);
      }
    });

    app.on(paymentMethodDetached, (ctx, { paymentMethod, customer }) => {
      // A detached PaymentMethod can no longer be the customer's default.
      const table = ctx.store.of(Customers);
      const old = table.get(customer);
      if (!old || old.invoice_settings.default_payment_method !== paymentMethod.id) return;
      const next = table.replace({
        ...old,
        invoice_settings: { ...old.invoice_settings, default_payment_method: null },
      });
      emitEvent(ctx, 'customer.updated', next, { previousAttributes: diff(old, next) });
    });
  },
};
