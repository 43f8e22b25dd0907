import PDFDocument from 'pdfkit';
import { formatMoney } from './formatMoney.ts';
import type { InvoiceDocument } from './invoiceDocument.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const STATUS_COLOR: Record<InvoiceDocument['status'], string> = {
  PAID: '#15803d',
  DUE: '#b45309',
  VOID: '#6b7280',
  UNCOLLECTIBLE: '#b91c1c',
  DRAFT: '#6b7280',
};
const MUTED = '#6b7280';
const TEXT = '#111827';
const LEFT = 50;
const WIDTH = 495;
const COL = { desc: 300, qty: 60, amount: 135 };

/** "24 Nov 2026", always in UTC so a PDF reads the same wherever it is rendered. */
export function formatDate(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

const period = (p: { start: number; end: number }) => `${formatDate(p.start)} – ${formatDate(p.end)}`;

/**
 * Lays out the invoice with pdfkit and returns the document as a readable stream (the route
 * pipes it to the response). Standard PDF fonts only: no font files to ship, and every string is
 * kept to what WinAnsi can encode (see formatMoney's symbols).
 */
export function renderInvoicePdf(doc: InvoiceDocument): PDFKit.PDFDocument {
  const pdf = new PDFDocument({
    size: 'A4',
    margin: LEFT,
    info: {
      Title: `Invoice ${doc.number}`,
      Author: doc.seller.name,
      Subject: `Invoice ${doc.number} for ${doc.billTo.name ?? doc.billTo.email ?? 'customer'}`,
      CreationDate: new Date(doc.issuedAt * 1000),
    },
  });
  const money = (minor: number) => formatMoney(minor, doc.currency);

  // Header: seller left, title and status right.
  const top = pdf.y;
  pdf.fillColor(TEXT).font('Helvetica-Bold').fontSize(16).text(doc.seller.name, LEFT, top, { width: 300 });
  pdf.font('Helvetica').fontSize(9).fillColor(MUTED);
  for (const line of doc.seller.lines) pdf.text(line, { width: 300 });
  const sellerBottom = pdf.y;
  pdf
    .fillColor(TEXT)
    .font('Helvetica-Bold')
    .fontSize(22)
    .text('INVOICE', LEFT, top, { width: WIDTH, align: 'right' });
  pdf
    .fillColor(STATUS_COLOR[doc.status])
    .fontSize(14)
    .text(doc.status, LEFT, pdf.y + 2, { width: WIDTH, align: 'right' });
  pdf.y = Math.max(sellerBottom, pdf.y) + 20;

  // Invoice facts left, customer right.
  const blockTop = pdf.y;
  const facts: [string, string][] = [
    ['Invoice number', doc.number],
    ['Date of issue', formatDate(doc.issuedAt)],
  ];
  if (doc.dueAt !== null) facts.push(['Date due', formatDate(doc.dueAt)]);
  if (doc.paidAt !== null && doc.status === 'PAID') facts.push(['Paid on', formatDate(doc.paidAt)]);
  facts.push([
    'Payment terms',
    doc.terms ??
      (doc.collection === 'charge_automatically' ? 'Charged to the card on file' : 'Due on receipt'),
  ]);
  for (const f of doc.fields) facts.push([f.label, f.value]);
  if (doc.period) facts.push(['Service period', period(doc.period)]);
  pdf.fontSize(10);
  for (const [label, value] of facts) {
    const y = pdf.y;
    pdf.font('Helvetica').fillColor(MUTED).text(label, LEFT, y, { width: 100 });
    pdf
      .font('Helvetica')
      .fillColor(TEXT)
      .text(value, LEFT + 100, y, { width: 190 });
  }
  const factsBottom = pdf.y;

  pdf
    .font('Helvetica-Bold')
    .fillColor(MUTED)
    .fontSize(10)
    .text('Bill to', LEFT + 310, blockTop, { width: 185 });
  pdf.font('Helvetica').fillColor(TEXT);
  for (const line of [doc.billTo.name, ...doc.billTo.address, doc.billTo.email]) {
    if (line) pdf.text(line, LEFT + 310, pdf.y, { width: 185 });
  }
  pdf.y = Math.max(factsBottom, pdf.y) + 24;

  // Lines.
  const tableHeader = () => {
    const y = pdf.y;
    pdf.font('Helvetica-Bold').fontSize(9).fillColor(MUTED);
    pdf.text('Description', LEFT, y, { width: COL.desc });
    pdf.text('Qty', LEFT + COL.desc, y, { width: COL.qty, align: 'right' });
    pdf.text('Amount', LEFT + COL.desc + COL.qty, y, { width: COL.amount, align: 'right' });
    pdf
      .moveTo(LEFT, pdf.y + 3)
      .lineTo(LEFT + WIDTH, pdf.y + 3)
      .strokeColor('#d1d5db')
      .stroke();
    pdf.y += 8;
  };
  const ensureSpace = (height: number, withHeader: boolean) => {
    if (pdf.y + height <= pdf.page.height - pdf.page.margins.bottom) return;
    pdf.addPage();
    if (withHeader) tableHeader();
  };
  tableHeader();
  for (const line of doc.lines) {
    pdf.fontSize(10);
    const descHeight = pdf.heightOfString(line.description || ' ', { width: COL.desc - 10 });
    ensureSpace(descHeight + (line.period ? 14 : 0) + 8, true);
    const y = pdf.y;
    pdf
      .font('Helvetica')
      .fillColor(TEXT)
      .text(line.description || ' ', LEFT, y, { width: COL.desc - 10 });
    if (line.period)
      pdf
        .fontSize(8)
        .fillColor(MUTED)
        .text(period(line.period), LEFT, pdf.y, { width: COL.desc - 10 });
    const bottom = pdf.y;
    pdf.fontSize(10).fillColor(TEXT);
    pdf.text(line.quantity === null ? '' : String(line.quantity), LEFT + COL.desc, y, {
      width: COL.qty,
      align: 'right',
    });
    pdf.text(money(line.amount), LEFT + COL.desc + COL.qty, y, { width: COL.amount, align: 'right' });
    pdf.y = Math.max(bottom, pdf.y) + 6;
  }
  pdf
    .moveTo(LEFT, pdf.y)
    .lineTo(LEFT + WIDTH, pdf.y)
    .strokeColor('#d1d5db')
    .stroke();
  pdf.y += 8;

  // Totals.
  const totals: [string, string, boolean][] = [['Subtotal', money(doc.subtotal), false]];
  for (const d of doc.discounts) totals.push([d.label, money(-d.amount), false]);
  for (const t of doc.taxes) totals.push([t.label, money(t.amount), false]);
  totals.push(['Total', money(doc.total), true]);
  if (doc.balanceApplied !== 0) totals.push(['Applied balance', money(-doc.balanceApplied), false]);
  totals.push(['Amount paid', money(doc.amountPaid), false]);
  totals.push([doc.status === 'VOID' ? 'Amount due (void)' : 'Amount due', money(doc.amountRemaining), true]);
  ensureSpace(totals.length * 16, false);
  for (const [label, value, bold] of totals) {
    const y = pdf.y;
    pdf
      .font(bold ? 'Helvetica-Bold' : 'Helvetica')
      .fontSize(10)
      .fillColor(TEXT);
    pdf.text(label, LEFT + 230, y, { width: 150, align: 'right' });
    pdf.text(value, LEFT + 380, y, { width: 115, align: 'right' });
    pdf.y += 4;
  }

  // Payment instructions, memo, footer.
  pdf.y += 16;
  pdf.x = LEFT;
  const note = (text: string, opts: { bold?: boolean; link?: string } = {}) => {
    pdf.fontSize(9);
    ensureSpace(pdf.heightOfString(text, { width: WIDTH }) + 6, false);
    pdf
      .font(opts.bold ? 'Helvetica-Bold' : 'Helvetica')
      .fillColor(opts.link ? '#1d4ed8' : TEXT)
      .text(text, LEFT, pdf.y, { width: WIDTH, ...(opts.link ? { link: opts.link, underline: true } : {}) });
    pdf.y += 4;
  };
  if (doc.status === 'DUE' && doc.collection === 'send_invoice' && doc.dueAt !== null)
    note(`Please pay ${money(doc.amountRemaining)} by ${formatDate(doc.dueAt)}.`, { bold: true });
  if (doc.payUrl) note(`Pay online: ${doc.payUrl}`, { link: doc.payUrl });
  if (doc.status === 'VOID') note('This invoice was voided and is not payable.', { bold: true });
  if (doc.memo) note(doc.memo);
  if (doc.footer) note(doc.footer);

  pdf.end();
  return pdf;
}

/** The whole PDF in memory (tests, e-mail attachments). */
export async function renderInvoicePdfBuffer(doc: InvoiceDocument): Promise<Buffer> {
  const pdf = renderInvoicePdf(doc);
  const chunks: Buffer[] = [];
  for await (const chunk of pdf) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
