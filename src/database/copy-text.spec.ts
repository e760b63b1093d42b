import { copyBool, CopyEncodingError, copyNumber, copyText, copyTimestamp } from './copy-text';

describe('COPY text encoding', () => {
  it('writes NULL as \\N and escapes backslash, tab, newline and carriage return', () => {
    expect(copyText(null)).toBe('\\N');
    expect(copyText(undefined)).toBe('\\N');
    expect(copyText('202005010001')).toBe('202005010001');
    expect(copyText('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    // The literal text \N is data, not NULL, once escaped.
    expect(copyText('\\N')).toBe('\\\\N');
    expect(copyText('')).toBe('');
    expect(copyText('ünïcode ✓')).toBe('ünïcode ✓');
    expect(() => copyText('a\0b')).toThrow(CopyEncodingError);
  });

  it('writes numbers as the INSERT path does, non-finite as NULL', () => {
    expect(copyNumber(230)).toBe('230');
    expect(copyNumber(221.3)).toBe('221.3');
    expect(copyNumber(-3e-7)).toBe('-3e-7');
    expect(copyNumber(1e21)).toBe('1e+21');
    expect(copyNumber(-0)).toBe('0');
    expect(copyNumber(0.1 + 0.2)).toBe('0.30000000000000004');
    expect(copyNumber(NaN)).toBe('\\N');
    expect(copyNumber(Infinity)).toBe('\\N');
    expect(copyNumber(-Infinity)).toBe('\\N');
    expect(copyNumber(null)).toBe('\\N');
    expect(copyNumber(undefined)).toBe('\\N');
  });

  it('writes booleans as t / f / \\N', () => {
    expect([copyBool(true), copyBool(false), copyBool(null), copyBool(undefined)]).toEqual([
      't',
      'f',
      '\\N',
      '\\N',
    ]);
  });

  it('writes times as ISO 8601 UTC with milliseconds, a fraction of one to the microsecond', () => {
    const t = Date.UTC(2026, 10, 20, 10, 0, 0, 123);
    expect(copyTimestamp(t)).toBe('2026-11-20T10:00:00.123Z');
    expect(copyTimestamp(Date.UTC(2026, 0, 1))).toBe('2026-01-01T00:00:00.000Z');
    expect(copyTimestamp(t + 0.5)).toBe('2026-11-20T10:00:00.123500Z');
    expect(copyTimestamp(t + 0.0004)).toBe('2026-11-20T10:00:00.123Z');
    expect(copyTimestamp(t + 0.9996)).toBe('2026-11-20T10:00:00.124Z');
    expect(copyTimestamp(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(copyTimestamp(-1)).toBe('1969-12-31T23:59:59.999Z');
  });

  it('refuses times the server could not read back', () => {
    expect(() => copyTimestamp(NaN)).toThrow(CopyEncodingError);
    expect(() => copyTimestamp(Infinity)).toThrow(CopyEncodingError);
    expect(() => copyTimestamp(Date.UTC(10000, 0, 1))).toThrow(CopyEncodingError);
    expect(() => copyTimestamp(Date.parse('0000-06-01T00:00:00Z'))).toThrow(CopyEncodingError);
    expect(copyTimestamp(Date.parse('0001-01-01T00:00:00Z'))).toBe('0001-01-01T00:00:00.000Z');
  });
});
