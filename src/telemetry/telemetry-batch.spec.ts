import { MEASUREMENTS } from '../protocol/measurements';
import type { TelemetryLine } from '../protocol/device-messages';
import { boolArray, numberArray, safeTextArray } from './pg-array';
import { MESSAGE_BYTES, ROW_BYTES, TelemetryBatch } from './telemetry-batch';

const SN = '202005010001';
const T0 = Date.UTC(2026, 10, 20, 10, 0, 0, 250);

/** The INSERT parameters as the batch built them from plain arrays before it kept typed columns. */
function referenceParams(rows: { sn: string; ts: number; rcv: number; l: TelemetryLine }[]) {
  return [
    safeTextArray(rows.map((r) => r.sn)),
    numberArray(rows.map((r) => r.l.line)),
    numberArray(rows.map((r) => r.ts)),
    numberArray(rows.map((r) => r.rcv)),
    boolArray(rows.map((r) => r.l.on ?? null)),
    ...MEASUREMENTS.map((m) => numberArray(rows.map((r) => r.l[m] ?? null))),
  ];
}

const full: TelemetryLine = {
  line: 1,
  on: true,
  voltage_v: 221.3,
  current_a: 3.21,
  power_w: -1500.5,
  reactive_var: 12,
  pf: -0.98,
  freq_hz: 50.01,
  energy_kwh: 123456789.123456,
  leakage_ma: 0,
  temp_c: -12.5,
};

describe('TelemetryBatch', () => {
  it('encodes rows as COPY text: tab-separated, \\N for what is missing, ISO UTC times', () => {
    const b = new TelemetryBatch();
    b.add(SN, T0, T0 + 7, 1, [full, { line: 2, on: false }, { line: 3 }]);
    const text = [...b.copyChunks()].join('');
    expect(text.split('\n')).toEqual([
      `${SN}\t1\t2026-11-20T10:00:00.250Z\t2026-11-20T10:00:00.257Z\tt\t221.3\t3.21\t-1500.5\t12\t-0.98\t50.01\t123456789.123456\t0\t-12.5`,
      `${SN}\t2\t2026-11-20T10:00:00.250Z\t2026-11-20T10:00:00.257Z\tf${'\t\\N'.repeat(9)}`,
      `${SN}\t3\t2026-11-20T10:00:00.250Z\t2026-11-20T10:00:00.257Z\t\\N${'\t\\N'.repeat(9)}`,
      '',
    ]);
  });

  it('writes non-finite measurements as NULL in both encodings', () => {
    const b = new TelemetryBatch();
    b.add(SN, T0, T0, undefined, [{ line: 1, voltage_v: Infinity, current_a: NaN }]);
    expect([...b.copyChunks()].join('')).toContain('\t\\N\t\\N\t\\N');
    expect(b.params()[5]).toBe('{NULL}');
    expect(b.params()[6]).toBe('{NULL}');
  });

  it('gives the INSERT the same parameters it had before (the fallback path is unchanged)', () => {
    const rows: { sn: string; ts: number; rcv: number; l: TelemetryLine }[] = [];
    const b = new TelemetryBatch();
    for (let i = 0; i < 50; i++) {
      const sn = i % 3 ? SN : '202005010002';
      const lines: TelemetryLine[] = [
        { ...full, line: 1, voltage_v: 200 + i / 7, energy_kwh: i * 1e-7 },
        { line: 2, on: i % 2 === 0, pf: i % 5 === 0 ? undefined : -1 + i / 25 },
      ];
      b.add(sn, T0 + i * 1000, T0 + i * 1000 + 3, i, lines);
      for (const l of lines) rows.push({ sn, ts: T0 + i * 1000, rcv: T0 + i * 1000 + 3, l });
    }
    expect(b.rows).toBe(100);
    expect(b.params()).toEqual(referenceParams(rows));
    expect(b.messages).toHaveLength(50);
    expect(b.messages[4]).toEqual({ sn: SN, seq: 4 });
  });

  it('splits the COPY text into chunks of whole rows', () => {
    const b = new TelemetryBatch();
    for (let i = 0; i < 25; i++) b.add(SN, T0 + i, T0 + i, i, [{ line: 1 }, { line: 2 }]);
    const chunks = [...b.copyChunks(20)];
    expect(chunks.map((c) => c.split('\n').length - 1)).toEqual([20, 20, 10]);
    expect(chunks.every((c) => c.endsWith('\n'))).toBe(true);
    expect(chunks.join('')).toBe([...b.copyChunks()].join(''));
    expect([...new TelemetryBatch().copyChunks()]).toEqual([]);
  });

  it('escapes a serial that needs it (the registry never holds one, the encoder still must)', () => {
    const b = new TelemetryBatch();
    b.add('a\tb\\c', T0, T0, 1, [{ line: 1 }]);
    expect([...b.copyChunks()].join('')).toMatch(/^a\\tb\\\\c\t1\t/);
  });

  it('counts its bytes by the capacity it holds, grows by doubling and gives back waste when sealed', () => {
    const b = new TelemetryBatch(16);
    const empty = b.bytes;
    expect(empty).toBeGreaterThanOrEqual(16 * ROW_BYTES);
    const eight = Array.from({ length: 8 }, (_, i) => ({ line: i + 1, voltage_v: 230 }));
    expect(b.bytesWith(8)).toBe(empty + MESSAGE_BYTES);
    b.add(SN, T0, T0, 1, eight);
    b.add(SN, T0 + 1, T0 + 1, 2, eight);
    expect(b.bytes).toBe(empty + 2 * MESSAGE_BYTES);
    // A third message needs 24 rows: the columns double to 32.
    expect(b.bytesWith(8)).toBe(empty + 16 * ROW_BYTES + 3 * MESSAGE_BYTES);
    b.add(SN, T0 + 2, T0 + 2, 3, eight);
    expect(b.bytes).toBe(empty + 16 * ROW_BYTES + 3 * MESSAGE_BYTES);
    // Sealed: 8 unused of 32 is more than a quarter of the rows, given back.
    b.trim();
    expect(b.bytes).toBe(empty + 8 * ROW_BYTES + 3 * MESSAGE_BYTES);
    expect([...b.copyChunks()].join('').split('\n')).toHaveLength(25);
    const big = new TelemetryBatch(1000);
    big.add(SN, T0, T0, 1, eight);
    big.trim();
    expect(big.bytes).toBe(empty + MESSAGE_BYTES);
    expect([...big.copyChunks()].join('').split('\n')).toHaveLength(9);
    expect(big.params()[1]).toBe('{1,2,3,4,5,6,7,8}');
  });

  it('notes when its first row was buffered', () => {
    const b = new TelemetryBatch();
    expect(b.firstAt).toBe(0);
    b.add(SN, T0, T0, 1, [{ line: 1 }], 5000);
    b.add(SN, T0, T0, 2, [{ line: 2 }], 6000);
    expect(b.firstAt).toBe(5000);
  });
});
