import { asStoredReal, roundAggregate, roundKwh, roundReal } from './precision';

describe('precision', () => {
  it('gives REAL aggregates 7 significant digits', () => {
    expect(roundReal(229.6499989827474)).toBe(229.65);
    expect(roundReal(0.9133333563804626)).toBe(0.9133334);
    expect(roundReal(Math.fround(0.98))).toBe(0.98);
    expect(roundReal(1234567.891)).toBe(1234568);
    expect(roundReal(-12.300000190734863)).toBe(-12.3);
    expect(roundReal(0)).toBe(0);
    expect(String(roundReal(Math.fround(50.05)))).toBe('50.05');
  });

  it('gives computed kWh 6 decimals', () => {
    expect(roundKwh(0.1 + 0.2)).toBe(0.3);
    expect(roundKwh(1234.5650000000001)).toBe(1234.565);
    expect(roundKwh(999999999.1234567)).toBe(999999999.123457);
    expect(roundKwh(0.0000004)).toBe(0);
    expect(roundKwh(17)).toBe(17);
  });

  it('rounds aggregates by the column type, nulls untouched', () => {
    expect(roundAggregate('voltage_v', 229.6499989827474)).toBe(229.65);
    expect(roundAggregate('energy_kwh', 1234.5650000000001)).toBe(1234.565);
    expect(roundAggregate('energy_kwh', 1234567.1234567)).toBe(1234567.123457);
    expect(roundAggregate('pf', null)).toBeNull();
  });

  it('keeps min ≤ avg ≤ max after rounding', () => {
    const min = Math.fround(0.91333333);
    const avg = min; // one sample
    expect(roundReal(min)).toBe(roundReal(avg));
  });

  it('shows a value as a REAL column gives it back (shortest float4 decimal)', () => {
    expect(asStoredReal(229.65)).toBe(229.65);
    expect(asStoredReal(221.3)).toBe(221.3);
    expect(asStoredReal(0.98)).toBe(0.98);
    expect(asStoredReal(221.123456789)).toBe(221.12346);
    expect(asStoredReal(0.91333333)).toBe(0.91333336);
    expect(asStoredReal(16777217)).toBe(16777216);
    expect(asStoredReal(-0.5)).toBe(-0.5);
    expect(asStoredReal(Number.NaN)).toBeNaN();
  });
});
