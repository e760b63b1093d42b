import { boolArray, numberArray, safeTextArray } from './pg-array';

describe('pg array literals', () => {
  it('writes numbers with NULL for missing or non-finite values', () => {
    expect(numberArray([1, 2.5, null, -3e-7, 1e21, Infinity, NaN])).toBe(
      '{1,2.5,NULL,-3e-7,1e+21,NULL,NULL}',
    );
    expect(numberArray([])).toBe('{}');
  });

  it('writes booleans as t/f/NULL', () => {
    expect(boolArray([true, false, null])).toBe('{t,f,NULL}');
  });

  it('quotes safe text and refuses anything that would need escaping', () => {
    expect(safeTextArray(['202005010001', 'a_b-C'])).toBe('{"202005010001","a_b-C"}');
    expect(() => safeTextArray(['a"b'])).toThrow();
    expect(() => safeTextArray(['a,b'])).toThrow();
    expect(() => safeTextArray(['NULL '])).toThrow();
  });
});
