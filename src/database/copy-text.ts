/**
 * Values in PostgreSQL's COPY text format (`COPY … FROM STDIN`, FORMAT text):
 * columns separated by a tab, rows ended by a newline, NULL written `\N`, and
 * a backslash, tab, newline or carriage return inside a value escaped with a
 * backslash. Each encoder writes what the server parses back to the value the
 * parameterised INSERT of the same value stores (the e2e test of the telemetry
 * SQL compares both paths row by row).
 */

export const COPY_NULL = '\\N';

/** A value the text format cannot carry faithfully: the caller writes the batch another way. */
export class CopyEncodingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CopyEncodingError';
  }
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Text, escaped; NUL cannot be stored in a text column at all, so it refuses it. */
export function copyText(v: string | null | undefined): string {
  if (v === null || v === undefined) return COPY_NULL;
  if (v.includes('\0')) throw new CopyEncodingError('NUL in a text value');
  return NEEDS_ESCAPE.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]) : v;
}

/**
 * A number as the array literal of the INSERT path writes it: JavaScript's
 * shortest round-trip form (`1e+21`, `-3e-7` included, both of which the
 * server's float and integer input accept as it does in an array), NULL for
 * a missing or non-finite value.
 */
export function copyNumber(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? COPY_NULL : String(v);
}

export function copyBool(v: boolean | null | undefined): string {
  return v === null || v === undefined ? COPY_NULL : v ? 't' : 'f';
}

/**
 * A Unix time in milliseconds as a timestamptz: ISO 8601 in UTC, so neither
 * the session's TimeZone nor its DateStyle matters. The INSERT path stores
 * `to_timestamp(ms / 1000.0)`, which keeps microseconds; whole milliseconds
 * (all a `Date` has) are written exactly, a fraction of one is rounded to the
 * microsecond as to_timestamp rounds it. Years outside 1–9999 have no ISO
 * form the server reads: refused (device times are bounded to now ± days).
 */
export function copyTimestamp(ms: number): string {
  if (!Number.isFinite(ms)) throw new CopyEncodingError(`timestamp ${ms} is not finite`);
  let whole = Math.floor(ms);
  let us = Math.round((ms - whole) * 1000);
  if (us === 1000) {
    whole += 1;
    us = 0;
  }
  const d = new Date(whole);
  const year = d.getUTCFullYear();
  if (!(year >= 1 && year <= 9999)) {
    throw new CopyEncodingError(`timestamp ${ms} is outside the years 1-9999`);
  }
  const iso = d.toISOString();
  if (us === 0) return iso;
  return iso.slice(0, -1) + String(us).padStart(3, '0') + 'Z';
}
