import { z } from 'zod';
import {
  PARAMS_LINE_SCHEMA,
  SCHEDULE_ITEM_SCHEMA,
  paramsLineList,
  scheduleItemList,
} from './backend-messages';
import {
  INT32_MIN,
  UINT32_MAX,
  deviceText,
  finiteIn,
  idField,
  lineNumber,
  snField,
  tsField,
  uniqueBy,
} from './fields';

// Every object here uses zod's default "strip": unknown keys (including
// `__proto__` / `constructor` own properties from JSON.parse) are dropped, so
// only documented fields ever reach storage.

export const DEVICE_MESSAGE_TYPES = [
  'config_request',
  'telemetry',
  'status',
  'alarm',
  'ack',
  'upgrade',
  'schedules',
  'params',
  'offline',
] as const;
export type DeviceMessageType = (typeof DEVICE_MESSAGE_TYPES)[number];

export const IO_KINDS = ['eth', 'wifi', '4g', 'nb', 'lora', 'gprs', 'mesh', 'other'] as const;
export const STATUS_CAUSES = [
  'manual_on',
  'manual_off',
  'remote_on',
  'remote_off',
  'schedule_on',
  'schedule_off',
  'power_on',
  'recovery',
  'overvoltage',
  'undervoltage',
  'overload',
  'overcurrent',
  'leakage',
  'overtemp',
  'arc',
  'energy_limit',
  'self_test',
  'fault',
  'unknown',
] as const;
export const ALARM_CODES = [
  'overvoltage',
  'undervoltage',
  'overload',
  'overcurrent',
  'leakage',
  'overtemp',
  'arc',
  'surge',
  'phase_unbalance',
  'energy_limit',
  'breaker_fault',
  'breaker_comm',
] as const;
export const UPGRADE_STATES = [
  'downloading',
  'verifying',
  'installing',
  'done',
  'failed',
  'rejected',
] as const;

// seq is a device's 32-bit message counter; wider values are not a counter any device keeps.
const base = { sn: snField, ts: tsField, seq: z.int().min(0).max(UINT32_MAX).optional() };
const text = (max: number) => deviceText(0, max);

function lineArray<T extends z.ZodType<{ line: number }>>(item: T) {
  return z
    .array(item)
    .min(1)
    .max(64)
    .refine(
      uniqueBy((l: { line: number }) => l.line),
      { error: 'duplicate line number' },
    );
}

export const ConfigRequestMsg = z.object({
  ...base,
  type: z.literal('config_request'),
  fw: deviceText(1, 32),
  model: deviceText(1, 64),
  lines: lineNumber,
  io: z.enum(IO_KINDS),
});

export const TelemetryLine = z.object({
  line: lineNumber,
  on: z.boolean().optional(),
  voltage_v: finiteIn(0, 1000).optional(),
  current_a: finiteIn(0, 10000).optional(),
  power_w: finiteIn(-1e7, 1e7).optional(),
  reactive_var: finiteIn(-1e7, 1e7).optional(),
  pf: finiteIn(-1, 1).optional(),
  freq_hz: finiteIn(0, 100).optional(),
  energy_kwh: finiteIn(0, 1e9).optional(),
  leakage_ma: finiteIn(0, 10000).optional(),
  temp_c: finiteIn(-50, 200).optional(),
});
export const TelemetryMsg = z.object({
  ...base,
  type: z.literal('telemetry'),
  lines: lineArray(TelemetryLine),
});

export const StatusLine = z.object({
  line: lineNumber,
  on: z.boolean(),
  cause: z.enum(STATUS_CAUSES).optional(),
});
export const StatusMsg = z.object({
  ...base,
  type: z.literal('status'),
  lines: lineArray(StatusLine),
});

// value/limit carry whichever quantity the alarm is about, so they are only
// bounded by the widest measurement range (energy).
export const AlarmMsg = z.object({
  ...base,
  type: z.literal('alarm'),
  line: z.int().min(0).max(64),
  code: z.enum(ALARM_CODES),
  active: z.boolean(),
  value: finiteIn(-1e9, 1e9).optional(),
  limit: finiteIn(-1e9, 1e9).optional(),
});

export const AckMsg = z.object({
  ...base,
  type: z.literal('ack'),
  id: idField,
  ok: z.boolean(),
  // Firmware reports codes as signed or unsigned 32-bit integers (e.g. 0x80004005);
  // the commands table keeps them in bigint columns.
  code: z.int().min(INT32_MIN).max(UINT32_MAX).optional(),
  msg: text(256).optional(),
});

export const UpgradeProgressMsg = z.object({
  ...base,
  type: z.literal('upgrade'),
  id: idField,
  state: z.enum(UPGRADE_STATES),
  progress: z.int().min(0).max(100).optional(),
  version: text(32).optional(),
  msg: text(256).optional(),
});

export const SchedulesReportMsg = z.object({
  ...base,
  type: z.literal('schedules'),
  id: idField.optional(),
  items: scheduleItemList(SCHEDULE_ITEM_SCHEMA),
});

export const ParamsReportMsg = z.object({
  ...base,
  type: z.literal('params'),
  id: idField.optional(),
  lines: paramsLineList(PARAMS_LINE_SCHEMA),
});

// The will message is composed once at connect time, so it may lack a clock.
export const OfflineMsg = z.object({
  ...base,
  type: z.literal('offline'),
  ts: tsField.optional(),
});

export type ConfigRequestMsg = z.infer<typeof ConfigRequestMsg>;
export type TelemetryLine = z.infer<typeof TelemetryLine>;
export type TelemetryMsg = z.infer<typeof TelemetryMsg>;
export type StatusLine = z.infer<typeof StatusLine>;
export type StatusMsg = z.infer<typeof StatusMsg>;
export type AlarmMsg = z.infer<typeof AlarmMsg>;
export type AckMsg = z.infer<typeof AckMsg>;
export type UpgradeProgressMsg = z.infer<typeof UpgradeProgressMsg>;
export type SchedulesReportMsg = z.infer<typeof SchedulesReportMsg>;
export type ParamsReportMsg = z.infer<typeof ParamsReportMsg>;
export type OfflineMsg = z.infer<typeof OfflineMsg>;

export type DeviceMessage =
  | ConfigRequestMsg
  | TelemetryMsg
  | StatusMsg
  | AlarmMsg
  | AckMsg
  | UpgradeProgressMsg
  | SchedulesReportMsg
  | ParamsReportMsg
  | OfflineMsg;

export const DEVICE_MESSAGE_SCHEMAS: ReadonlyMap<string, z.ZodType<DeviceMessage>> = new Map<
  DeviceMessageType,
  z.ZodType<DeviceMessage>
>([
  ['config_request', ConfigRequestMsg],
  ['telemetry', TelemetryMsg],
  ['status', StatusMsg],
  ['alarm', AlarmMsg],
  ['ack', AckMsg],
  ['upgrade', UpgradeProgressMsg],
  ['schedules', SchedulesReportMsg],
  ['params', ParamsReportMsg],
  ['offline', OfflineMsg],
]);
