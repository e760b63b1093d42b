import { TelemetryLine } from './protocol';
import { Random, between } from './random';

const clamp = (v: number, min: number, max: number) => Math.min(max, Math.max(min, v));
const round = (v: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/**
 * One breaker's measurements as bounded random walks, so charts look like a
 * real feeder instead of white noise. Values stay inside the ranges of §3
 * `telemetry` by construction.
 */
export class LineModel {
  on = true;
  private voltage: number;
  private load: number;
  private pf: number;
  private freq = 50;
  private energy: number;
  private leakage: number;
  private temp: number;
  private lastMs?: number;

  constructor(
    readonly line: number,
    private readonly rnd: Random,
  ) {
    this.voltage = between(rnd, 222, 233);
    this.load = between(rnd, 0.5, 20);
    this.pf = between(rnd, 0.88, 0.99);
    this.energy = between(rnd, 10, 50000);
    this.leakage = between(rnd, 0.2, 4);
    this.temp = between(rnd, 26, 38);
  }

  private walk(v: number, step: number, min: number, max: number, mean: number): number {
    const pull = (mean - v) * 0.05;
    return clamp(v + pull + (this.rnd() * 2 - 1) * step, min, max);
  }

  /** Advances the model to `nowMs` and returns the sample a breaker would report. */
  sample(nowMs: number): TelemetryLine {
    const dtS = this.lastMs === undefined ? 0 : Math.max(0, (nowMs - this.lastMs) / 1000);
    this.lastMs = nowMs;
    this.voltage = this.walk(this.voltage, 0.6, 220, 235, 228);
    this.freq = this.walk(this.freq, 0.02, 49.9, 50.1, 50);
    this.load = this.walk(this.load, 0.4, 0.1, 30, 8);
    this.pf = this.walk(this.pf, 0.01, 0.85, 1, 0.95);
    // Derived quantities use the reported (rounded) inputs, so a consumer
    // checking power = V * I * pf gets agreement to the last digit.
    const v = round(this.voltage, 1);
    const i = this.on ? round(this.load, 2) : 0;
    const pf = this.on ? round(this.pf, 2) : 1;
    const power = v * i * pf;
    const reactive = v * i * Math.sqrt(Math.max(0, 1 - pf * pf));
    this.energy += (power * dtS) / 3_600_000;
    this.leakage = this.on ? this.walk(this.leakage, 0.2, 0, 8, 2) : 0;
    const targetTemp = 25 + i * 0.6;
    this.temp = clamp(
      this.temp + (targetTemp - this.temp) * 0.1 + (this.rnd() - 0.5) * 0.2,
      15,
      60,
    );
    return {
      line: this.line,
      on: this.on,
      voltage_v: v,
      current_a: i,
      power_w: round(power, 1),
      reactive_var: round(reactive, 1),
      pf,
      freq_hz: round(this.freq, 2),
      // Floor, not round: a counter must never appear to go backwards.
      energy_kwh: Math.floor(this.energy * 1000) / 1000,
      leakage_ma: round(this.leakage, 1),
      temp_c: round(this.temp, 1),
    };
  }
}
