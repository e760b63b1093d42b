import { LineModel } from './line-model';
import { seededRandom } from './random';

describe('LineModel', () => {
  it('stays within plausible ranges and power = V*I*pf', () => {
    const m = new LineModel(3, seededRandom(42));
    for (let i = 0; i < 2000; i++) {
      const s = m.sample(i * 5000);
      expect(s.line).toBe(3);
      expect(s.voltage_v).toBeGreaterThanOrEqual(220);
      expect(s.voltage_v).toBeLessThanOrEqual(235);
      expect(s.pf).toBeGreaterThanOrEqual(0.85);
      expect(s.pf).toBeLessThanOrEqual(1);
      expect(s.freq_hz).toBeGreaterThanOrEqual(49.9);
      expect(s.freq_hz).toBeLessThanOrEqual(50.1);
      expect(s.current_a).toBeGreaterThan(0);
      expect(s.leakage_ma).toBeGreaterThanOrEqual(0);
      expect(s.temp_c).toBeGreaterThan(-50);
      expect(s.temp_c).toBeLessThan(200);
      expect(s.power_w).toBeCloseTo(s.voltage_v * s.current_a * s.pf, 0);
    }
  });

  it('counts energy monotonically and only while on', () => {
    const m = new LineModel(1, seededRandom(7));
    let last = m.sample(0).energy_kwh;
    for (let i = 1; i < 500; i++) {
      const e = m.sample(i * 60_000).energy_kwh;
      expect(e).toBeGreaterThanOrEqual(last);
      last = e;
    }
    m.on = false;
    const off = m.sample(600_000);
    expect(off).toMatchObject({ on: false, current_a: 0, power_w: 0, reactive_var: 0 });
    expect(m.sample(1_200_000).energy_kwh).toBe(off.energy_kwh);
  });

  it('is reproducible for a given seed', () => {
    const a = new LineModel(1, seededRandom(1)).sample(0);
    const b = new LineModel(1, seededRandom(1)).sample(0);
    expect(a).toEqual(b);
  });
});
