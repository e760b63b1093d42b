/**
 * PostgreSQL array literals built directly for the column types of a batch.
 * node-pg's generic array serialisation quotes and escapes every element;
 * for tens of thousands of numbers per batch that is a large share of the
 * hot path. Numbers, booleans and serials (digits only) need no escaping.
 */

export function numberArray(
  values: ArrayLike<number | null>,
  length: number = values.length,
): string {
  let s = '{';
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (i > 0) s += ',';
    s += v === null || !Number.isFinite(v) ? 'NULL' : String(v);
  }
  return s + '}';
}

export function boolArray(
  values: ArrayLike<boolean | null>,
  length: number = values.length,
): string {
  let s = '{';
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (i > 0) s += ',';
    s += v === null ? 'NULL' : v ? 't' : 'f';
  }
  return s + '}';
}

const SAFE_TEXT = /^[0-9A-Za-z_-]+$/;

/** Text elements, quoted; only [0-9A-Za-z_-] accepted (serials), anything else throws. */
export function safeTextArray(values: ArrayLike<string>, length: number = values.length): string {
  let s = '{';
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (!SAFE_TEXT.test(v)) throw new Error('unsafe text element in a batch array');
    if (i > 0) s += ',';
    s += '"' + v + '"';
  }
  return s + '}';
}
