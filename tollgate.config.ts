import { defineCatalog } from './apps/server/src/modules/catalog/catalogSchema.ts';

/**
 * The plan catalog, as code. `tollgate catalog push` creates or updates the Stripe products and
 * prices (matched by lookup key); `tollgate catalog diff` shows drift. Amounts are in cents.
 */
export default defineCatalog({
  currency: 'usd',
  features: {
    api_access: { type: 'boolean', name: 'API access' },
    sso: { type: 'boolean', name: 'Single sign-on' },
    priority_support: { type: 'boolean', name: 'Priority support' },
    projects: { type: 'limit', name: 'Projects', unit: 'projects' },
    seats: { type: 'limit', name: 'Team seats', unit: 'seats' },
  },
  usageEvents: { api_call_basic: 1, api_call_premium: 5, storage_gb_month: 10, ai_inference: 25 },
  creditPrecedence: 'purchased_first',
  plans: [
    {
      key: 'free',
      name: 'Free',
      rank: 0,
      features: { api_access: false, sso: false, priority_support: false, projects: 1, seats: 1 },
      credits: { perPeriod: 100, allowOverage: false },
    },
    {
      key: 'basic',
      name: 'Basic',
      rank: 1,
      prices: { month: { model: 'flat', amount: 2900 }, year: { model: 'flat', amount: 29000 } },
      trialDays: 14,
      features: { api_access: true, sso: false, priority_support: false, projects: 5, seats: 3 },
      credits: { perPeriod: 1000, allowOverage: false },
    },
    {
      key: 'professional',
      name: 'Professional',
      rank: 2,
      prices: { month: { model: 'flat', amount: 7900 }, year: { model: 'flat', amount: 79000 } },
      trialDays: 14,
      features: { api_access: true, sso: false, priority_support: true, projects: 25, seats: 10 },
      credits: { perPeriod: 5000, allowOverage: true },
    },
    {
      key: 'enterprise',
      name: 'Enterprise',
      rank: 3,
      prices: { month: { model: 'flat', amount: 19900 }, year: { model: 'flat', amount: 199000 } },
      features: { api_access: true, sso: true, priority_support: true, projects: null, seats: null },
      credits: { perPeriod: 25000, allowOverage: true },
    },
  ],
  creditPacks: [
    { key: 'credits_1k', name: '1,000 credits', credits: 1000, amount: 1000 },
    { key: 'credits_10k', name: '10,000 credits', credits: 10000, amount: 9000 },
    { key: 'credits_100k', name: '100,000 credits', credits: 100000, amount: 80000 },
  ],
  meteredAddons: [
    { key: 'sms', name: 'SMS', unitAmountDecimal: '5', meterEventName: 'tollgate_sms' },
    { key: 'email', name: 'Email', unitAmountDecimal: '1', meterEventName: 'tollgate_email' },
    {
      key: 'webhook_call',
      name: 'Webhook call',
      unitAmountDecimal: '0.1',
      meterEventName: 'tollgate_webhook_call',
    },
  ],
  // Consumption beyond the balance on plans with allowOverage, billed per credit: "1" = $0.01.
  creditOverage: { name: 'Credit overage', unitAmountDecimal: '1' },
  coupons: [
    {
      id: 'LAUNCH20',
      name: 'Launch: 20% off for 3 months',
      percentOff: 20,
      duration: 'repeating',
      durationInMonths: 3,
      promotionCodes: ['LAUNCH20'],
    },
  ],
  portal: { allowPlanSwitch: true, cancellation: 'at_period_end' },
});
