import { z } from 'zod';
import { stripUnsafeText } from './sanitize';
import { SERIAL_RE } from './serial';

// Shared wire-field schemas, so both directions apply identical rules.

export const COMMAND_ID_RE = /^[A-Za-z0-9_-]{1,36}$/;

export const snField = z.string().regex(SERIAL_RE, { error: 'sn must be 12 ASCII digits' });
export const idField = z
  .string()
  .regex(COMMAND_ID_RE, { error: 'id must be 1-36 chars of [A-Za-z0-9_-]' });
export const tsField = z.int().nonnegative();
export const lineNumber = z.int().min(1).max(64);

export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;
export const UINT32_MAX = 2 ** 32 - 1;
/** 2^-126, the smallest normal 32-bit float. */
export const FLOAT32_MIN_NORMAL = 2 ** -126;

/**
 * A finite number in [min, max]. z.number() already rejects NaN and ±Infinity
 * (e.g. JSON `1e400`). A magnitude below the smallest normal float4 is read as
 * 0: PostgreSQL refuses e.g. `1e-50` for a `real` column ("out of range"),
 * which would fail the whole telemetry batch it travels in.
 */
export function finiteIn(min: number, max: number) {
  return z
    .number()
    .min(min)
    .max(max)
    .transform((v) => (Math.abs(v) < FLOAT32_MIN_NORMAL ? 0 : v));
}

/**
 * Free text from a device (firmware version, model, messages): characters that
 * sanitize.ts escapes (NUL and other controls, bidi and invisible marks, lone
 * surrogates) are removed first, then the length rule applies to what is left.
 * The cleaned value is what every handler sees and what is stored.
 */
export function deviceText(min: number, max: number) {
  return z.string().transform(stripUnsafeText).pipe(z.string().min(min).max(max));
}

export function uniqueBy<T>(key: (item: T) => unknown): (items: T[]) => boolean {
  return (items) => new Set(items.map(key)).size === items.length;
}

export function uniqueInts(items: number[]): boolean {
  return new Set(items).size === items.length;
}

/** The first issue as `{ field, detail }`, `field` being the dotted path ('' at the root). */
export function firstIssue(error: z.ZodError): { field: string; detail: string } {
  const issue = error.issues[0];
  if (!issue) return { field: '', detail: 'invalid' };
  const path = issue.path.map((p) => String(p));
  // Point at the offending key itself, not at the object that holds it.
  if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) path.push(issue.keys[0]);
  return { field: path.join('.'), detail: issue.message };
}
