import type Stripe from 'stripe';
import { defineTable } from '../../core/store.ts';

export const Customers = defineTable<Stripe.Customer>({ object: 'customer', prefix: 'cus' });
export const TaxIds = defineTable<Stripe.TaxId>({ object: 'tax_id', prefix: 'txi', name: 'tax id' });
