/**
 * Device-side view of wire protocol v1 (docs/protocol.md). Written
 * independently of src/ on purpose: the simulator is a second implementation
 * of the spec, so a misreading in the backend is not silently mirrored here.
 */
export type Json = Record<string, unknown>;

export const SN_RE = /^[0-9]{12}$/;
export const ID_RE = /^[A-Za-z0-9_-]{1,36}$/;
export const HHMM_RE = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

export const COMMAND_TYPES = [
  'config',
  'switch',
  'schedules',
  'params',
  'upgrade',
  'query',
  'reboot',
] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

export const QUERY_WHAT = ['status', 'telemetry', 'schedules', 'params'] as const;
export type QueryWhat = (typeof QUERY_WHAT)[number];

export const IO_KINDS = ['eth', 'wifi', '4g', 'nb', 'lora', 'gprs', 'mesh', 'other'] as const;

export type StatusCause =
  | 'manual_on'
  | 'manual_off'
  | 'remote_on'
  | 'remote_off'
  | 'schedule_on'
  | 'schedule_off'
  | 'power_on'
  | 'recovery'
  | 'overvoltage'
  | 'undervoltage'
  | 'overload'
  | 'overcurrent'
  | 'leakage'
  | 'overtemp'
  | 'arc'
  | 'energy_limit'
  | 'self_test'
  | 'fault'
  | 'unknown';

export type AlarmCode =
  | 'overvoltage'
  | 'undervoltage'
  | 'overload'
  | 'overcurrent'
  | 'leakage'
  | 'overtemp'
  | 'arc'
  | 'surge'
  | 'phase_unbalance'
  | 'energy_limit'
  | 'breaker_fault'
  | 'breaker_comm';

export type UpgradeState =
  'downloading' | 'verifying' | 'installing' | 'done' | 'failed' | 'rejected';

/** Ack codes from §3 `ack`. */
export const ACK = {
  ok: 0,
  badRequest: 1,
  unknownLine: 2,
  busy: 3,
  unsupported: 5,
  breakerTimeout: 34,
} as const;

export interface TelemetryLine {
  line: number;
  on: boolean;
  voltage_v: number;
  current_a: number;
  power_w: number;
  reactive_var: number;
  pf: number;
  freq_hz: number;
  energy_kwh: number;
  leakage_ma: number;
  temp_c: number;
}

export interface StatusLine {
  line: number;
  on: boolean;
  cause: StatusCause;
}

export interface ScheduleItem {
  slot: number;
  lines: number[];
  on: boolean;
  at: string;
  days: number[];
  enabled: boolean;
}

export const PARAM_FIELDS = [
  'max_voltage_v',
  'min_voltage_v',
  'max_current_a',
  'max_leakage_ma',
  'max_temp_c',
  'max_power_w',
] as const;
export type ParamField = (typeof PARAM_FIELDS)[number];
export type LineParams = { line: number } & Partial<Record<ParamField, number>>;

/** What a factory-fresh breaker reports before the backend sends `params`. */
export const DEFAULT_PARAMS: Record<ParamField, number> = {
  max_voltage_v: 264,
  min_voltage_v: 176,
  max_current_a: 32,
  max_leakage_ma: 30,
  max_temp_c: 85,
  max_power_w: 7000,
};

export interface DeviceConfig {
  report_s?: number;
  heartbeat_s?: number;
  delta_pct?: number;
}

export type Command =
  | ({ type: 'config'; id: string; ts?: number } & DeviceConfig)
  | { type: 'switch'; id: string; lines: number[] | 'all'; on: boolean }
  | { type: 'schedules'; id: string; items: ScheduleItem[] }
  | { type: 'params'; id: string; lines: LineParams[] }
  | { type: 'query'; id: string; what: QueryWhat }
  | { type: 'reboot'; id: string }
  | { type: 'upgrade'; id: string; url: string; version: string; sha256: string; size: number };
