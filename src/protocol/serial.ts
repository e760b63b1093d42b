// `[0-9]` rather than `\d`: `\d` is ASCII-only in JS too, but spelling it out
// keeps the intent obvious next to the Unicode-digit tests.
export const SERIAL_RE = /^[0-9]{12}$/;

export function isSerial(v: unknown): v is string {
  return typeof v === 'string' && v.length === 12 && SERIAL_RE.test(v);
}
