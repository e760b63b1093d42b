import { MEASUREMENT_TYPES } from './telemetry.sql';
import { Measurement } from '../protocol/measurements';

/**
 * How many significant digits a REAL (float4) value is worth. 24 mantissa
 * bits resolve about 7.2 decimal digits: an 8th digit of an average of REALs
 * is binary noise, not information.
 */
export const REAL_DIGITS = 7;

/**
 * Decimals of computed kWh (averages of the counter, energy per period): 1 mWh.
 * The counter is float8 and at most 10^9 kWh (protocol), so 9 + 6 digits stay
 * within the 15 that float8 always carries, while the 16th-17th digit where
 * differences of float8 produce their noise (0.30000000000000004) is dropped.
 */
export const KWH_DECIMALS = 6;

/** A REAL aggregate to REAL_DIGITS significant digits (229.6499989827474 → 229.65). */
export function roundReal(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(REAL_DIGITS)) : x;
}

/** Computed kWh to KWH_DECIMALS decimals (0.30000000000000004 → 0.3). */
export function roundKwh(x: number): number {
  return Number.isFinite(x) && Math.abs(x) < 1e21 ? Number(x.toFixed(KWH_DECIMALS)) : x;
}

/**
 * A min/avg/max of one measurement as the API shows it: REAL columns to
 * REAL_DIGITS, the float8 kWh counter to KWH_DECIMALS. min and max go through
 * the same rounding as avg so that min ≤ avg ≤ max holds in what is shown.
 */
export function roundAggregate(m: Measurement, x: number | null): number | null {
  if (x === null) return null;
  return MEASUREMENT_TYPES[m] === 'float4' ? roundReal(x) : roundKwh(x);
}

/**
 * The value a REAL column gives back for `x`: PostgreSQL prints the shortest
 * decimal that reads back as the same float4, so a value still in memory
 * (not yet flushed) must be shown the same way, or it would change its digits
 * on the next flush (221.123456789 in memory, 221.12346 from the table).
 */
export function asStoredReal(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.fround(x);
  for (let p = 1; p < 9; p++) {
    const d = Number(f.toPrecision(p));
    if (Math.fround(d) === f) return d;
  }
  // 9 significant digits always identify a float4.
  return Number(f.toPrecision(9));
}
