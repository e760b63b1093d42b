import { negotiate } from './accept-negotiation';

/**
 * RFC 4180 CSV. Cells that a spreadsheet would run as a formula (leading
 * = + - @ on a non-number) are prefixed with a quote, since exports get opened
 * in Excel by the people who asked for them.
 */
export function toCsv(
  columns: readonly string[],
  rows: readonly Record<string, unknown>[],
): string {
  const lines = [columns.map(cell).join(',')];
  for (const r of rows) lines.push(columns.map((c) => cell(r[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  let s = v instanceof Date ? v.toISOString() : String(v);
  if (/^[=+\-@\t\r]/.test(s) && !/^-?[0-9.]+(e[+-]?[0-9]+)?$/i.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Flattens one level of nested objects: {voltageV: {min: 1}} → {voltageV_min: 1}. */
export function flatten(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (v && typeof v === 'object' && !(v instanceof Date) && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) out[`${k}_${k2}`] = v2;
    } else out[k] = v;
  }
  return out;
}

/** What a route that can export CSV produces, JSON first (the answer when both are equally welcome). */
export const JSON_OR_CSV = ['application/json', 'text/csv'] as const;

/** True when the client prefers CSV to JSON (q values and wildcards count, as for the 406 check). */
export function wantsCsv(accept: string | readonly string[] | undefined): boolean {
  return negotiate(accept, JSON_OR_CSV) === 'text/csv';
}
