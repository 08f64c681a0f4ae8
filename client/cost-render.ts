/**
 * The cost section of `ferry plan`'s text output: the total per currency, which price table each side used and when
 * its prices were taken, one line per request kind and traffic item, and the inventory figures beside the LIST ones
 * when the plan has both.
 */
import type { CostEstimate, CostLine, PlanCost } from '../common/cost';
import { formatBytes } from '../common/units';
import { formatCount } from './render';

const ITEM_LABELS: Record<CostLine['item'], string> = {
  list: 'LIST',
  head: 'HEAD',
  get: 'GET',
  put: 'PUT',
  initiate: 'multipart initiate',
  part: 'multipart part',
  complete: 'multipart complete',
  copy: 'COPY',
  partCopy: 'upload-part-copy',
  restore: 'restore',
  egress: 'egress',
  retrieval: 'retrieval',
  inventory: 'inventory fee',
};

/** `USD 1,234.57`; a positive amount under half a cent as `USD <0.01` (never a misleading 0.00). */
export function formatMoney(amount: number, currency: string): string {
  if (amount > 0 && amount < 0.005) return `${currency} <0.01`;
  return `${currency} ${amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** Totals of every currency, e.g. `USD 12.30 + CNY 4.10`; `0` when no side is priced. */
export function formatTotals(totals: Record<string, number>): string {
  const parts = Object.entries(totals).map(([c, a]) => formatMoney(a, c));
  return parts.length ? parts.join(' + ') : '0 (no side has prices)';
}

function quantity(l: CostLine): string {
  if (l.unit === 'bytes') return formatBytes(l.quantity);
  return `${formatCount(l.quantity)} ${l.unit}`;
}

function unitPrice(l: CostLine): string {
  if (!l.currency) return 'unpriced';
  const per = l.unit === 'bytes' ? 'GB' : l.unit === 'objects' ? 'million' : '1k';
  return `${l.unitPrice}/${per}`;
}

const lineKey = (l: CostLine) => `${l.side}|${l.item}|${l.detail ?? ''}`;

function sideLine(e: CostEstimate, side: 'source' | 'destination'): string {
  const s = e.sides[side];
  if (!s.label) return `${side.padEnd(12)} ${s.store === 'local' ? 'local filesystem' : s.store}: not priced`;
  return `${side.padEnd(12)} ${s.label}: ${s.currency}, list prices of ${s.asOf}${s.source ? ` (${s.source})` : ''}`;
}

/** The cost lines of the plan's text output (indented like the rest of it). */
export function renderCost(cost: PlanCost): string[] {
  const { list, inventory } = cost;
  const lines = [`  cost       ${formatTotals(list.totals)}${inventory ? `   (with inventory reports instead of LIST: ${formatTotals(inventory.totals)})` : ''}   estimate at list prices, first attempts only`];
  for (const side of ['source', 'destination'] as const) lines.push(`             ${sideLine(list, side)}`);
  const keys = [...new Set([...list.lines, ...(inventory?.lines ?? [])].map(lineKey))];
  const find = (e: CostEstimate | undefined, k: string) => e?.lines.find((l) => lineKey(l) === k);
  const rows = keys.map((k) => {
    const a = find(list, k);
    const b = find(inventory, k);
    const l = (a ?? b)!;
    const label = `${ITEM_LABELS[l.item]}${l.detail ? ` (${l.detail})` : ''}`;
    const cell = (x: CostLine | undefined) => (x ? `${quantity(x).padStart(22)}  ${(x.currency ? formatMoney(x.amount, x.currency) : '-').padStart(14)}` : `${'-'.padStart(22)}  ${'-'.padStart(14)}`);
    return `    ${l.side.padEnd(12)} ${label.padEnd(28)} ${cell(a)}${inventory ? `   ${cell(b)}` : ''}   at ${unitPrice(l)}`;
  });
  if (inventory) lines.push(`    ${''.padEnd(12)} ${''.padEnd(28)} ${'via LIST'.padStart(38)}   ${'via inventory'.padStart(38)}`);
  lines.push(...rows);
  for (const n of new Set([...list.notes, ...(inventory?.notes ?? [])])) lines.push(`  cost note  ${n}`);
  return lines;
}
