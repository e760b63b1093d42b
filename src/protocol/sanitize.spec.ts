import { safeLogString, sanitizeExcerpt, stripUnsafeText } from './sanitize';

describe('sanitizeExcerpt', () => {
  it('passes plain text through', () => {
    expect(sanitizeExcerpt('{"sn":"202005010001"} héllo 日本')).toBe(
      '{"sn":"202005010001"} héllo 日本',
    );
  });

  it('escapes C0, DEL and C1 controls', () => {
    expect(sanitizeExcerpt('a\nb\r\tc\u0000d\u001be\u007ff\u0085g\u009f')).toBe(
      'a\\u000Ab\\u000D\\u0009c\\u0000d\\u001Be\\u007Ff\\u0085g\\u009F',
    );
  });

  it('escapes line/paragraph separators, bidi controls and invisible marks', () => {
    const s =
      '\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200b\ufeff';
    const out = sanitizeExcerpt(s);
    expect(out).toBe(
      '\\u2028\\u2029\\u202A\\u202B\\u202C\\u202D\\u202E\\u2066\\u2067\\u2068\\u2069\\u200E\\u200B\\uFEFF',
    );
    expect(out).toMatch(/^[\x20-\x7e]*$/);
  });

  it('escapes lone surrogates but keeps pairs intact', () => {
    expect(sanitizeExcerpt('a\ud800b')).toBe('a\\uD800b');
    expect(sanitizeExcerpt('😀😀😀', 2)).toBe('😀😀…');
  });

  it('truncates to max code points and marks the cut', () => {
    expect(sanitizeExcerpt('abcdef', 3)).toBe('abc…');
    expect(sanitizeExcerpt('abc', 3)).toBe('abc');
    expect(sanitizeExcerpt('x'.repeat(500))).toBe('x'.repeat(200) + '…');
    expect(sanitizeExcerpt('abc', 0)).toBe('…');
    expect(sanitizeExcerpt('', 5)).toBe('');
  });

  it('decodes buffers leniently and never throws', () => {
    expect(sanitizeExcerpt(Buffer.from([0x61, 0xff, 0xfe, 0x62]))).toBe('a\ufffd\ufffdb');
    expect(sanitizeExcerpt(Buffer.from('{"a":1}'))).toBe('{"a":1}');
    expect(sanitizeExcerpt(Buffer.alloc(0))).toBe('');
  });

  it('cuts a large buffer without decoding all of it', () => {
    const big = Buffer.alloc(64 * 1024, 0x41);
    expect(sanitizeExcerpt(big, 10)).toBe('AAAAAAAAAA…');
    // exactly max*4 bytes of 4-byte chars: max code points, nothing cut
    expect(sanitizeExcerpt(Buffer.from('😀'.repeat(3)), 3)).toBe('😀😀😀');
    expect(sanitizeExcerpt(Buffer.from('😀'.repeat(4)), 3)).toBe('😀😀😀…');
  });
});

describe('safeLogString', () => {
  it('sanitizes and bounds strings', () => {
    expect(safeLogString('evil\n[INFO] forged')).toBe('evil\\u000A[INFO] forged');
    expect(safeLogString('y'.repeat(100))).toBe('y'.repeat(64) + '…');
    expect(safeLogString('abcdef', 2)).toBe('ab…');
  });

  it('renders non-strings without calling into them', () => {
    expect(safeLogString(42)).toBe('42');
    expect(safeLogString(true)).toBe('true');
    expect(safeLogString(null)).toBe('null');
    expect(safeLogString(undefined)).toBe('undefined');
    expect(safeLogString(10n)).toBe('10');
    expect(safeLogString([1])).toBe('<array>');
    const hostile = {
      toString() {
        throw new Error('boom');
      },
    };
    expect(safeLogString(hostile)).toBe('<object>');
    expect(safeLogString(Object.create(null))).toBe('<object>');
  });
});

describe('stripUnsafeText', () => {
  it('returns clean text as it is (the same string)', () => {
    const s = '1.4.2 héllo 日本 😀';
    expect(stripUnsafeText(s)).toBe(s);
    expect(stripUnsafeText('')).toBe('');
  });

  it('removes NUL, the other C0 controls, DEL and C1 controls', () => {
    expect(stripUnsafeText('breaker\u0000timeout')).toBe('breakertimeout');
    expect(stripUnsafeText('a\nb\r\tc\u001bd\u007fe\u0085f\u009f')).toBe('abcdef');
  });

  it('removes bidi controls, invisible marks and lone surrogates, keeps pairs', () => {
    expect(stripUnsafeText('1.5\u202e0.1\u200b\ufeff\u2066')).toBe('1.50.1');
    expect(stripUnsafeText('a\ud800b\udc00c😀')).toBe('abc😀');
  });

  it('leaves nothing sanitizeExcerpt would escape', () => {
    let all = '';
    for (let cp = 0; cp <= 0xffff; cp++) all += String.fromCharCode(cp);
    const out = stripUnsafeText(all);
    expect(sanitizeExcerpt(out, out.length)).toBe(out);
  });
});
