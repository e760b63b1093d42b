import type { TelemetryLine, TelemetryMsg } from './device-messages';
import { FLOAT32_MIN_NORMAL, UINT32_MAX } from './fields';
import { MEASUREMENTS, Measurement } from './measurements';

/** TelemetryLine's ranges, in its key order (fast-telemetry.spec checks them against the schema). */
export const MEASUREMENT_RANGES: Record<Measurement, readonly [number, number]> = {
  voltage_v: [0, 1000],
  current_a: [0, 10000],
  power_w: [-1e7, 1e7],
  reactive_var: [-1e7, 1e7],
  pf: [-1, 1],
  freq_hz: [0, 100],
  energy_kwh: [0, 1e9],
  leakage_ma: [0, 10000],
  temp_c: [-50, 200],
};

const RANGES = MEASUREMENTS.map((m) => MEASUREMENT_RANGES[m]);
const MAX_LINES = 64;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * TelemetryMsg's rules written out by hand, for the one message type that
 * arrives by the thousand a second (the schema's generic walk costs more than
 * parsing the JSON). For a message the schema accepts it returns what the
 * schema returns — documented keys only, in the schema's order, a magnitude
 * under the smallest normal float4 read as 0 — and for anything else
 * undefined, so that the schema decides and words the rejection. The serial
 * is checked before. fast-telemetry.spec compares both on generated input.
 */
export function fastTelemetry(obj: Record<string, unknown>): TelemetryMsg | undefined {
  const { ts, seq, lines } = obj;
  if (obj.type !== 'telemetry') return undefined;
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0) return undefined;
  if (seq !== undefined) {
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0 || seq > UINT32_MAX) {
      return undefined;
    }
  }
  if (!Array.isArray(lines) || lines.length < 1 || lines.length > MAX_LINES) return undefined;
  const out: TelemetryLine[] = new Array<TelemetryLine>(lines.length);
  // Line numbers seen, as bits: 1–32 in `lo`, 33–64 in `hi`.
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < lines.length; i++) {
    const l: unknown = lines[i];
    if (!isPlainObject(l)) return undefined;
    const line = l.line;
    if (typeof line !== 'number' || !Number.isSafeInteger(line) || line < 1 || line > MAX_LINES) {
      return undefined;
    }
    if (line <= 32) {
      const bit = 1 << (line - 1);
      if (lo & bit) return undefined;
      lo |= bit;
    } else {
      const bit = 1 << (line - 33);
      if (hi & bit) return undefined;
      hi |= bit;
    }
    const o: TelemetryLine = { line };
    const on = l.on;
    if (on !== undefined) {
      if (typeof on !== 'boolean') return undefined;
      o.on = on;
    }
    for (let k = 0; k < MEASUREMENTS.length; k++) {
      const m = MEASUREMENTS[k];
      const v = l[m];
      if (v === undefined) continue;
      // NaN fails both comparisons; JSON's 1e400 (Infinity) fails the range.
      if (typeof v !== 'number' || !(v >= RANGES[k][0] && v <= RANGES[k][1])) return undefined;
      o[m] = Math.abs(v) < FLOAT32_MIN_NORMAL ? 0 : v;
    }
    out[i] = o;
  }
  const msg: Record<string, unknown> = { sn: obj.sn, ts };
  if (seq !== undefined) msg.seq = seq;
  msg.type = 'telemetry';
  msg.lines = out;
  return msg as TelemetryMsg;
}
