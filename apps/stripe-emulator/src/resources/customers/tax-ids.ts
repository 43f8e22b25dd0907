/**
 * Customer tax ids: /v1/customers/:id/tax_ids (create, retrieve, delete, list) and
 * `tax_id_data` on customer create. Events customer.tax_id.created / .deleted.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { emitEvent } from '../../core/events.ts';
import { listOf, paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { resourceMissing } from '../../http/errors.ts';
import { p } from '../../http/params.ts';
import { Customers, TaxIds } from './tables.ts';

// Every type the pinned SDK knows (CustomerCreateTaxIdParams.Type).
export const taxIdTypes = [
  'ad_nrt',
  'ae_trn',
  'al_tin',
  'am_tin',
  'ao_tin',
  'ar_cuit',
  'au_abn',
  'au_acn',
  'au_arn',
  'au_wpn',
  'aw_tin',
  'az_tin',
  'ba_tin',
  'bb_tin',
  'bd_bin',
  'bf_ifu',
  'bg_uic',
  'bh_vat',
  'bj_ifu',
  'bo_tin',
  'br_cnpj',
  'br_cpf',
  'bs_tin',
  'bw_vat',
  'by_tin',
  'ca_bn',
  'ca_gst_hst',
  'ca_pst_bc',
  'ca_pst_mb',
  'ca_pst_sk',
  'ca_qst',
  'cd_nif',
  'ch_uid',
  'ch_vat',
  'ci_vat',
  'cl_tin',
  'cm_niu',
  'cn_tin',
  'co_nit',
  'cr_tin',
  'cv_nif',
  'cz_dic',
  'de_stn',
  'do_rcn',
  'ec_ruc',
  'eg_tin',
  'es_cif',
  'et_tin',
  'eu_oss_vat',
  'eu_vat',
  'fo_vat',
  'fr_siren',
  'fr_siret',
  'fr_spi',
  'gb_vat',
  'ge_vat',
  'gh_tin',
  'gi_tin',
  'gn_nif',
  'hk_br',
  'hr_oib',
  'hu_tin',
  'ic_nif',
  'id_npwp',
  'il_vat',
  'in_gst',
  'is_kt',
  'is_vat',
  'it_cf',
  'jp_cn',
  'jp_rn',
  'jp_trn',
  'ke_pin',
  'kg_tin',
  'kh_tin',
  'kr_brn',
  'kz_bin',
  'la_tin',
  'li_uid',
  'li_vat',
  'lk_vat',
  'ma_vat',
  'md_cf',
  'md_vat',
  'me_pib',
  'mk_vat',
  'mr_nif',
  'mu_vat',
  'mx_rfc',
  'my_frp',
  'my_itn',
  'my_sst',
  'mz_nuit',
  'ng_tin',
  'no_vat',
  'no_voec',
  'np_pan',
  'nz_bn',
  'nz_gst',
  'om_vat',
  'pe_ruc',
  'ph_tin',
  'pl_nip',
  'pt_nif',
  'py_ruc',
  'ro_tin',
  'rs_pib',
  'ru_inn',
  'ru_kpp',
  'sa_vat',
  'sg_gst',
  'sg_uen',
  'si_tin',
  'sm_coe',
  'sn_ninea',
  'sr_fin',
  'sv_nit',
  'th_vat',
  'tj_tin',
  'tr_tin',
  'tt_bir',
  'tt_vat',
  'tw_vat',
  'tz_vat',
  'ua_vat',
  'ug_tin',
  'us_ein',
  'uy_ruc',
  'uz_tin',
  'uz_vat',
  've_rif',
  'vn_tin',
  'za_vat',
  'zm_tin',
  'zw_tin',
] as const;

/** Types Stripe verifies against a government register (test mode: immediately verified). */
const VERIFIED_TYPES = new Set([
  'eu_vat',
  'gb_vat',
  'au_abn',
  'au_arn',
  'in_gst',
  'no_vat',
  'za_vat',
  'ch_vat',
]);

function countryOf(type: string, value: string): string | null {
  if (type === 'eu_vat')
    return (value.slice(0, 2).toUpperCase() === 'EL' ? 'GR' : value.slice(0, 2).toUpperCase()) || null;
  if (type === 'eu_oss_vat') return null;
  return type.slice(0, 2).toUpperCase();
}

export function createTaxId(
  ctx: Emulator,
  customer: Stripe.Customer,
  type: string,
  value: string,
): Stripe.TaxId {
  const table = ctx.store.of(TaxIds);
  const taxId = table.insert({
    id: table.newId(),
    object: 'tax_id',
    country: countryOf(type, value),
    created: ctx.clock.now(customer.test_clock as string | null),
    customer: customer.id,
    customer_account: null,
    livemode: false,
    owner: { customer: customer.id, customer_account: null, type: 'customer' },
    type: type as Stripe.TaxId.Type,
    value,
    verification: VERIFIED_TYPES.has(type)
      ? { status: 'verified', verified_address: null, verified_name: customer.name ?? null }
      : { status: 'unavailable', verified_address: null, verified_name: null },
  });
  emitEvent(ctx, 'customer.tax_id.created', taxId);
  return taxId;
}

function taxIdsOf(ctx: Emulator, customerId: string): Stripe.TaxId[] {
  return ctx.store.of(TaxIds).sorted((t) => t.customer === customerId);
}

export const taxIdsModule: EmulatorModule = {
  name: 'customers.tax_ids',
  register(app) {
    app.post(
      '/v1/customers/:id/tax_ids',
      { type: p.required(p.enum(taxIdTypes)), value: p.required(p.string()) },
      (req) => {
        const customer = req.ctx.store.of(Customers).require(req.path.id!);
        return createTaxId(req.ctx, customer, req.params.type, req.params.value);
      },
    );

    app.get('/v1/customers/:id/tax_ids/:taxId', {}, (req) => {
      req.ctx.store.of(Customers).require(req.path.id!);
      const taxId = req.ctx.store.of(TaxIds).get(req.path.taxId!);
      if (!taxId || taxId.customer !== req.path.id) throw resourceMissing('tax_id', req.path.taxId!);
      return taxId;
    });

    app.del('/v1/customers/:id/tax_ids/:taxId', {}, (req) => {
      req.ctx.store.of(Customers).require(req.path.id!);
      const table = req.ctx.store.of(TaxIds);
      const taxId = table.get(req.path.taxId!);
      if (!taxId || taxId.customer !== req.path.id) throw resourceMissing('tax_id', req.path.taxId!);
      table.delete(taxId.id);
      emitEvent(req.ctx, 'customer.tax_id.deleted', taxId);
      return { id: taxId.id, object: 'tax_id', deleted: true };
    });

    app.list('/v1/customers/:id/tax_ids', {}, (req) => {
      req.ctx.store.of(Customers).require(req.path.id!);
      return paginate(req, taxIdsOf(req.ctx, req.path.id!), req.ctx.store.of(TaxIds));
    });

    app.virtualExpansion('customer', 'tax_ids', (ctx, row) =>
      listOf(taxIdsOf(ctx, row.id as string), `/v1/customers/${row.id}/tax_ids`),
    );
  },
};
