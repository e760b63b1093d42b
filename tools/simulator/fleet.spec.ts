import { snAt } from './fleet';

describe('snAt', () => {
  it('increments numerically and keeps 12 digits', () => {
    expect(snAt('202005010001', 0)).toBe('202005010001');
    expect(snAt('202005010001', 9)).toBe('202005010010');
    expect(snAt('000000000099', 1)).toBe('000000000100');
    expect(snAt('202005019999', 1)).toBe('202005020000');
  });

  it('refuses bad starts and overflow', () => {
    expect(() => snAt('2020050100', 0)).toThrow();
    expect(() => snAt('999999999999', 1)).toThrow(/overflow/);
  });
});
