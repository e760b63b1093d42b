/**
 * The control characters no text input may carry (docs/security.md, input
 * rules): C0 controls other than tab, LF and CR, and DEL. PostgreSQL refuses
 * NUL in text and jsonb; the rest have no place in names, serials or filters.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
// eslint-disable-next-line no-control-regex
const CONTROL_ALL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

export const CONTROL_RULE =
  'must not contain control characters (U+0000-U+001F other than tab, LF and CR, or U+007F)';

export function hasControlChars(s: string): boolean {
  return CONTROL.test(s);
}

/** `s` with each such character written as a visible `\uXXXX` escape. */
export function escapeControlChars(s: string): string {
  return CONTROL.test(s)
    ? s.replace(CONTROL_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : s;
}
