import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import {
  COMMAND_ID_RE,
  finiteIn,
  firstIssue,
  idField,
  lineNumber,
  snField,
  tsField,
  uniqueBy,
  uniqueInts,
} from './fields';

export { COMMAND_ID_RE };

export const BACKEND_MESSAGE_TYPES = [
  'config',
  'switch',
  'schedules',
  'params',
  'upgrade',
  'query',
  'reboot',
] as const;
export const QUERY_WHATS = ['status', 'telemetry', 'schedules', 'params'] as const;

const HHMM_RE = /^(?:[01][0-9]|2[0-3]):[0-5][0-9]$/;
const SHA256_RE = /^[0-9a-f]{64}$/;
// The device fetches this itself, so nothing but a plain http(s) URL without
// whitespace, control or invisible format characters is sent.
const URL_RE = /^https?:\/\/[^\s\p{Cc}\p{Cf}]+$/iu;

const lineList = z
  .array(lineNumber)
  .min(1)
  .max(64)
  .refine(uniqueInts, { error: 'duplicate line number' });

const scheduleItemShape = {
  slot: z.int().min(1).max(24),
  lines: lineList,
  on: z.boolean(),
  at: z.string().regex(HHMM_RE, { error: 'at must be HH:MM, 00:00-23:59' }),
  days: z.array(z.int().min(1).max(7)).min(1).max(7).refine(uniqueInts, { error: 'duplicate day' }),
  enabled: z.boolean(),
};

const paramsLineShape = {
  line: lineNumber,
  max_voltage_v: finiteIn(0, 1000).optional(),
  min_voltage_v: finiteIn(0, 1000).optional(),
  max_current_a: finiteIn(0, 10000).optional(),
  max_leakage_ma: finiteIn(0, 10000).optional(),
  max_temp_c: finiteIn(-50, 200).optional(),
  max_power_w: finiteIn(0, 1e7).optional(),
};

type VoltagePair = { min_voltage_v?: number; max_voltage_v?: number };
const voltageOrder = {
  check: (l: VoltagePair) =>
    l.min_voltage_v === undefined ||
    l.max_voltage_v === undefined ||
    l.min_voltage_v < l.max_voltage_v,
  params: { error: 'min_voltage_v must be below max_voltage_v', path: ['min_voltage_v'] },
};

// Strip variants are what a device report is parsed with (extra keys ignored);
// the strict ones guard what the backend itself sends.
export const SCHEDULE_ITEM_SCHEMA = z.object(scheduleItemShape);
export const PARAMS_LINE_SCHEMA = z
  .object(paramsLineShape)
  .refine(voltageOrder.check, voltageOrder.params);
const SCHEDULE_ITEM_STRICT = z.strictObject(scheduleItemShape);
const PARAMS_LINE_STRICT = z
  .strictObject(paramsLineShape)
  .refine(voltageOrder.check, voltageOrder.params);

export type ScheduleItem = z.infer<typeof SCHEDULE_ITEM_SCHEMA>;
export type ParamsLine = z.infer<typeof PARAMS_LINE_SCHEMA>;

export function scheduleItemList<T extends z.ZodType<ScheduleItem>>(item: T) {
  return z
    .array(item)
    .max(24)
    .refine(
      uniqueBy((i: ScheduleItem) => i.slot),
      { error: 'duplicate slot' },
    );
}

export function paramsLineList<T extends z.ZodType<ParamsLine>>(item: T) {
  return z
    .array(item)
    .min(1)
    .max(64)
    .refine(
      uniqueBy((l: ParamsLine) => l.line),
      { error: 'duplicate line number' },
    );
}

const common = { sn: snField, id: idField, ts: tsField };

export const ConfigCmd = z.strictObject({
  ...common,
  type: z.literal('config'),
  report_s: z.int().min(5).max(3600),
  heartbeat_s: z.int().min(10).max(600),
  delta_pct: finiteIn(0, 100),
});
export const SwitchCmd = z.strictObject({
  ...common,
  type: z.literal('switch'),
  lines: z.union([z.literal('all'), lineList]),
  on: z.boolean(),
});
export const SchedulesCmd = z.strictObject({
  ...common,
  type: z.literal('schedules'),
  items: scheduleItemList(SCHEDULE_ITEM_STRICT),
});
export const ParamsCmd = z.strictObject({
  ...common,
  type: z.literal('params'),
  lines: paramsLineList(PARAMS_LINE_STRICT),
});
export const UpgradeCmd = z.strictObject({
  ...common,
  type: z.literal('upgrade'),
  url: z.string().max(2048).regex(URL_RE, { error: 'url must be an http(s) URL' }),
  version: z.string().min(1).max(32),
  sha256: z.string().regex(SHA256_RE, { error: 'sha256 must be 64 lowercase hex digits' }),
  size: z.int().positive(),
});
export const QueryCmd = z.strictObject({
  ...common,
  type: z.literal('query'),
  what: z.enum(QUERY_WHATS),
});
export const RebootCmd = z.strictObject({ ...common, type: z.literal('reboot') });

export type ConfigCmd = z.infer<typeof ConfigCmd>;
export type SwitchCmd = z.infer<typeof SwitchCmd>;
export type SchedulesCmd = z.infer<typeof SchedulesCmd>;
export type ParamsCmd = z.infer<typeof ParamsCmd>;
export type UpgradeCmd = z.infer<typeof UpgradeCmd>;
export type QueryCmd = z.infer<typeof QueryCmd>;
export type RebootCmd = z.infer<typeof RebootCmd>;
export type BackendMessage =
  ConfigCmd | SwitchCmd | SchedulesCmd | ParamsCmd | UpgradeCmd | QueryCmd | RebootCmd;
export type BackendMessageType = BackendMessage['type'];

const SCHEMAS = new Map<string, z.ZodType>([
  ['config', ConfigCmd],
  ['switch', SwitchCmd],
  ['schedules', SchedulesCmd],
  ['params', ParamsCmd],
  ['upgrade', UpgradeCmd],
  ['query', QueryCmd],
  ['reboot', RebootCmd],
]);

// Key order follows protocol.md and is spelled out rather than left to object
// construction order, so the bytes on the wire are stable and predictable for
// device parsers, logs and tests.
const HEAD_KEYS = ['sn', 'type', 'id', 'ts'];
const BODY_KEYS: Record<BackendMessageType, readonly string[]> = {
  config: ['report_s', 'heartbeat_s', 'delta_pct'],
  switch: ['lines', 'on'],
  schedules: ['items'],
  params: ['lines'],
  upgrade: ['url', 'version', 'sha256', 'size'],
  query: ['what'],
  reboot: [],
};
const SCHEDULE_ITEM_KEYS = ['slot', 'lines', 'on', 'at', 'days', 'enabled'];
const PARAMS_LINE_KEYS = Object.keys(paramsLineShape);

export class ProtocolEncodeError extends Error {
  override readonly name = 'ProtocolEncodeError';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

type Obj = Record<string, unknown>;

function pick(src: Obj, keys: readonly string[]): Obj {
  const out: Obj = {};
  for (const k of keys) if (src[k] !== undefined) out[k] = src[k];
  return out;
}

/** Validates and serialises a command; throws ProtocolEncodeError rather than send junk. */
export function encodeBackendMessage(msg: BackendMessage): string {
  const type: unknown = (msg as Partial<Obj> | null)?.type;
  const schema = typeof type === 'string' ? SCHEMAS.get(type) : undefined;
  if (!schema) throw new ProtocolEncodeError('unknown backend message type', 'type');
  const parsed = schema.safeParse(msg);
  if (!parsed.success) {
    const { field, detail } = firstIssue(parsed.error);
    throw new ProtocolEncodeError(`invalid ${String(type)} command: ${field}: ${detail}`, field);
  }
  const data = parsed.data as Obj;
  const t = type as BackendMessageType;
  const out = pick(data, [...HEAD_KEYS, ...BODY_KEYS[t]]);
  if (t === 'schedules') {
    out.items = (data.items as Obj[]).map((i) => pick(i, SCHEDULE_ITEM_KEYS));
  } else if (t === 'params') {
    out.lines = (data.lines as Obj[]).map((l) => pick(l, PARAMS_LINE_KEYS));
  }
  return JSON.stringify(out);
}

const ID_PREFIX: Record<BackendMessageType, string> = {
  config: 'k',
  switch: 'c',
  schedules: 's',
  params: 'p',
  upgrade: 'u',
  query: 'q',
  reboot: 'r',
};

/** `<prefix>-<22 base64url chars>`: 128 random bits, 24 chars in all. */
export function newCommandId(type: BackendMessageType): string {
  const prefix = Object.hasOwn(ID_PREFIX, type) ? ID_PREFIX[type] : undefined;
  if (prefix === undefined) throw new Error(`unknown backend message type "${String(type)}"`);
  return `${prefix}-${randomBytes(16).toString('base64url')}`;
}
