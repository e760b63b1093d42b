import { TelemetryLine, TelemetryMsg } from './device-messages';
import { fastTelemetry, MEASUREMENT_RANGES } from './fast-telemetry';
import { FLOAT32_MIN_NORMAL } from './fields';
import { MEASUREMENTS } from './measurements';

const SN = '202005010001';

/** A small deterministic PRNG, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const same = (a: unknown, b: unknown) => {
  // Key order and -0 matter too: what is stored and streamed must not depend on the path.
  expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  expect(a).toEqual(b);
};

describe('fastTelemetry agrees with the TelemetryMsg schema', () => {
  it('has the schema ranges', () => {
    for (const m of MEASUREMENTS) {
      const [min, max] = MEASUREMENT_RANGES[m];
      const ok = (v: number) =>
        TelemetryMsg.safeParse({ sn: SN, ts: 1, type: 'telemetry', lines: [{ line: 1, [m]: v }] })
          .success;
      expect([
        ok(min),
        ok(max),
        ok(min - Math.max(1e-9, Math.abs(min) * 1e-9)),
        ok(max * 1.000001 + 1e-9),
      ]).toEqual([true, true, false, false]);
    }
  });

  it('returns what the schema returns for a typical message', () => {
    const msg = {
      sn: SN,
      type: 'telemetry',
      extra: 'dropped',
      seq: 7,
      ts: 1_763_632_800,
      lines: [
        { line: 2, on: true, voltage_v: 221.3, energy_kwh: 12.5, junk: { a: 1 }, pf: -0.5 },
        { temp_c: 1e-40, line: 1, current_a: 0 },
      ],
    };
    const fast = fastTelemetry(msg);
    const zod = TelemetryMsg.parse(msg);
    same(fast, zod);
    expect(fast!.lines[1].temp_c).toBe(0);
  });

  it('accepts exactly what the schema accepts, with the same result (generated messages)', () => {
    const r = rng(12345);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
    const oddValues: unknown[] = [
      null,
      '1',
      true,
      [],
      {},
      NaN,
      Infinity,
      -Infinity,
      -0,
      0.5,
      1e-39,
      -1e-39,
      FLOAT32_MIN_NORMAL,
      -FLOAT32_MIN_NORMAL,
      2 ** 53,
      -1,
      undefined,
    ];
    const value = (m: (typeof MEASUREMENTS)[number]) => {
      const [min, max] = MEASUREMENT_RANGES[m];
      const x = r();
      if (x < 0.1) return pick(oddValues);
      if (x < 0.15) return pick([min, max, min - 1, max + 1, min - 1e-12, max + 1e-6]);
      return min + (max - min) * r();
    };
    const line = (n: number): Record<string, unknown> => {
      const l: Record<string, unknown> = {};
      if (r() < 0.97) l.line = r() < 0.95 ? n : pick([0, 65, 1.5, '1', null, -1, 64, 33, 32]);
      if (r() < 0.6) l.on = r() < 0.95 ? r() < 0.5 : pick(oddValues);
      for (const m of MEASUREMENTS) if (r() < 0.7) l[m] = value(m);
      if (r() < 0.05) l.__proto__ = { line: 3 };
      if (r() < 0.05) l.unknown = 1;
      return l;
    };
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 20_000; i++) {
      const count = r() < 0.03 ? pick([0, 65, 64]) : 1 + Math.floor(r() * 10);
      const lines: unknown[] = [];
      for (let n = 1; n <= count; n++) lines.push(line(r() < 0.02 ? 1 : n + (r() < 0.1 ? 30 : 0)));
      const msg: Record<string, unknown> = { sn: SN, type: 'telemetry', lines };
      if (r() < 0.97) msg.ts = r() < 0.95 ? Math.floor(r() * 2e9) : pick(oddValues);
      if (r() < 0.5)
        msg.seq = r() < 0.9 ? Math.floor(r() * 2 ** 32) : pick([2 ** 32, -1, 0.5, null]);
      if (r() < 0.02) msg.lines = pick([null, {}, 'x', [null], [[]]]);
      if (r() < 0.02) msg.type = 'status';
      const json = JSON.parse(JSON.stringify(msg)) as Record<string, unknown>;
      const zod = TelemetryMsg.safeParse(json);
      const fast = fastTelemetry(json);
      if (fast) {
        expect(zod.success).toBe(true);
        same(fast, zod.data);
        accepted++;
      } else {
        // Everything the fast path leaves to the schema, the schema refuses.
        expect(zod.success).toBe(false);
        rejected++;
      }
    }
    expect(accepted).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(2000);
  });

  it('leaves the wording of a rejection to the schema', () => {
    const lines: TelemetryLine[] = [{ line: 1 }, { line: 1 }];
    expect(fastTelemetry({ sn: SN, ts: 1, type: 'telemetry', lines })).toBeUndefined();
    expect(
      fastTelemetry({ sn: SN, ts: 1, type: 'telemetry', lines: [{ line: 64 }, { line: 33 }] }),
    ).toBeDefined();
  });
});
