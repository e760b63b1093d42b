// Device-provided text ends up in logs, the database and admin UIs. Anything
// that can forge log lines (newlines), reorder what a reader sees (bidi
// controls), hide text (zero-width / BOM) or break storage (NUL, lone
// surrogates: PostgreSQL rejects both) is shown as a visible `\uXXXX` escape.
function needsEscape(cp: number): boolean {
  return (
    cp <= 0x1f ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0x061c ||
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x2028 && cp <= 0x202e) ||
    (cp >= 0x2060 && cp <= 0x2069) ||
    (cp >= 0xd800 && cp <= 0xdfff) ||
    cp === 0xfeff
  );
}

/**
 * `s` without the characters sanitizeExcerpt would escape. The decoder applies
 * it to every free-text field a device sends, so what is kept in memory is
 * exactly what PostgreSQL stores: text and jsonb refuse NUL and lone
 * surrogates, and the rest must not reach logs or UIs either.
 */
export function stripUnsafeText(s: string): string {
  let clean = true;
  for (const ch of s) {
    if (needsEscape(ch.codePointAt(0) as number)) {
      clean = false;
      break;
    }
  }
  if (clean) return s;
  let out = '';
  for (const ch of s) if (!needsEscape(ch.codePointAt(0) as number)) out += ch;
  return out;
}

function escapeCodePoint(cp: number): string {
  return '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
}

// UTF-8 needs at most 4 bytes per code point, so decoding a bounded prefix is
// enough and keeps a 64 KiB payload from being decoded just to show 200 chars.
function toBoundedString(input: Buffer | string, max: number): { text: string; more: boolean } {
  if (typeof input === 'string') return { text: input, more: false };
  const limit = max * 4;
  if (input.length <= limit) return { text: input.toString('utf8'), more: false };
  return { text: input.subarray(0, limit).toString('utf8'), more: true };
}

/**
 * At most `max` code points of `input` (escapes may make the result longer),
 * with '…' appended when something was cut. Never throws.
 */
export function sanitizeExcerpt(input: Buffer | string, max = 200): string {
  const limit = Number.isFinite(max) && max > 0 ? Math.floor(max) : 0;
  const { text, more } = toBoundedString(input, limit);
  let out = '';
  let count = 0;
  let cut = more;
  // for..of walks code points, so a surrogate pair is never split by the cut.
  for (const ch of text) {
    if (count >= limit) {
      cut = true;
      break;
    }
    const cp = ch.codePointAt(0) as number;
    out += needsEscape(cp) ? escapeCodePoint(cp) : ch;
    count++;
  }
  return cut ? out + '…' : out;
}

/** For logging a value that came from a device and may not even be a string. */
export function safeLogString(s: unknown, max = 64): string {
  if (typeof s === 'string') return sanitizeExcerpt(s, max);
  if (s === null || s === undefined) return String(s);
  if (typeof s === 'number' || typeof s === 'boolean' || typeof s === 'bigint') {
    return String(s);
  }
  // Never call toString() on an arbitrary object: it may throw or be huge.
  return `<${Array.isArray(s) ? 'array' : typeof s}>`;
}
