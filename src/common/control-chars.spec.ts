import { escapeControlChars, hasControlChars } from './control-chars';

describe('control characters', () => {
  it('are C0 controls other than tab, LF and CR, and DEL', () => {
    for (let c = 0; c < 0x20; c++) {
      const ch = String.fromCharCode(c);
      expect({ c, bad: hasControlChars(`a${ch}b`) }).toEqual({ c, bad: ![9, 10, 13].includes(c) });
    }
    expect(hasControlChars('\u007f')).toBe(true);
    expect(hasControlChars('Küche – ½ €')).toBe(false);
    expect(hasControlChars('\u0085\u2028')).toBe(false);
  });

  it('are escaped visibly, everything else left as it is', () => {
    expect(escapeControlChars('1.0\u0000evil\u0007\u007f')).toBe('1.0\\u0000evil\\u0007\\u007f');
    expect(escapeControlChars('line\n\tok')).toBe('line\n\tok');
  });
});
