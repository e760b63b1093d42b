import { MEASUREMENTS, Measurement } from '../protocol/measurements';

/** API (camelCase) name of each stored measurement column. */
export const API_NAME: Record<Measurement, string> = {
  voltage_v: 'voltageV',
  current_a: 'currentA',
  power_w: 'powerW',
  reactive_var: 'reactiveVar',
  pf: 'pf',
  freq_hz: 'freqHz',
  energy_kwh: 'energyKwh',
  leakage_ma: 'leakageMa',
  temp_c: 'tempC',
};
export const API_FIELDS = MEASUREMENTS.map((m) => API_NAME[m]);
const BY_API = new Map(MEASUREMENTS.map((m) => [API_NAME[m], m]));

export function measurementFromApi(name: string): Measurement | undefined {
  return BY_API.get(name);
}
