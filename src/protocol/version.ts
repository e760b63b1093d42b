// Firmware versions in the field are only roughly semver (`v2.0`, `1.5.0-rc1`,
// `1.4`), so this compares them "naturally" and never throws on junk.

const TOKEN_RE = /[0-9]+|[^0-9]+/g;

function compareDigits(a: string, b: string): number {
  // Compared as strings so arbitrarily long numbers cannot overflow.
  const x = a.replace(/^0+(?=.)/, '');
  const y = b.replace(/^0+(?=.)/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

const isDigits = (s: string) => s.charCodeAt(0) >= 48 && s.charCodeAt(0) <= 57;

/** Digit runs numerically, digits before letters, text case-insensitively. */
function compareNatural(a: string, b: string): number {
  const ta = a.match(TOKEN_RE) ?? [];
  const tb = b.match(TOKEN_RE) ?? [];
  for (let i = 0; i < Math.min(ta.length, tb.length); i++) {
    const x = ta[i];
    const y = tb[i];
    const dx = isDigits(x);
    const dy = isDigits(y);
    let c: number;
    if (dx && dy) c = compareDigits(x, y);
    else if (dx !== dy) c = dx ? -1 : 1;
    else {
      const lx = x.toLowerCase();
      const ly = y.toLowerCase();
      c = lx < ly ? -1 : lx > ly ? 1 : 0;
    }
    if (c !== 0) return c;
  }
  return Math.sign(ta.length - tb.length);
}

function split(v: string): { core: string[]; pre: string[] | null } {
  let s = String(v).trim();
  if (s[0] === 'v' || s[0] === 'V') s = s.slice(1);
  const plus = s.indexOf('+');
  if (plus >= 0) s = s.slice(0, plus); // build metadata never affects order
  const dash = s.indexOf('-');
  const core = (dash >= 0 ? s.slice(0, dash) : s).split('.');
  const pre = dash >= 0 ? s.slice(dash + 1).split('.') : null;
  return { core, pre };
}

/** -1, 0 or 1. Missing parts count as 0 (`1.5` == `1.5.0`); `1.5.0-rc1` < `1.5.0`. */
export function compareVersions(a: string, b: string): number {
  const va = split(a);
  const vb = split(b);
  for (let i = 0; i < Math.max(va.core.length, vb.core.length); i++) {
    const c = compareNatural(va.core[i] || '0', vb.core[i] || '0');
    if (c !== 0) return c;
  }
  if (va.pre === null || vb.pre === null) {
    return va.pre === vb.pre ? 0 : va.pre === null ? 1 : -1;
  }
  for (let i = 0; i < Math.min(va.pre.length, vb.pre.length); i++) {
    const c = compareNatural(va.pre[i], vb.pre[i]);
    if (c !== 0) return c;
  }
  return Math.sign(va.pre.length - vb.pre.length);
}
