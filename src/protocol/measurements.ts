/** The measurement fields of a telemetry line (protocol §3), in storage column order. */
export const MEASUREMENTS = [
  'voltage_v',
  'current_a',
  'power_w',
  'reactive_var',
  'pf',
  'freq_hz',
  'energy_kwh',
  'leakage_ma',
  'temp_c',
] as const;
export type Measurement = (typeof MEASUREMENTS)[number];
