import { decodeDeviceMessage } from './decode';
import { DEVICE_MESSAGE_SCHEMAS, DeviceMessageType } from './device-messages';
import { FLOAT32_MIN_NORMAL, INT32_MAX, INT32_MIN, UINT32_MAX } from './fields';

// "What passes the decoder fits the database": every field of every device
// message against the column it ends up in (src/database/migrations/*).

const SN = '202005010001';
const head = { sn: SN, ts: 1732240000, seq: 1 };

const EXAMPLES: Record<DeviceMessageType, Record<string, unknown>> = {
  config_request: {
    ...head,
    type: 'config_request',
    fw: '1.4.2',
    model: 'RJ-C8',
    lines: 8,
    io: 'eth',
  },
  telemetry: {
    ...head,
    type: 'telemetry',
    lines: [
      {
        line: 1,
        on: true,
        voltage_v: 221.3,
        current_a: 3.21,
        power_w: 690.5,
        reactive_var: 40.2,
        pf: 0.98,
        freq_hz: 50,
        energy_kwh: 1234.56,
        leakage_ma: 2.1,
        temp_c: 35.2,
      },
    ],
  },
  status: { ...head, type: 'status', lines: [{ line: 3, on: false, cause: 'leakage' }] },
  alarm: { ...head, type: 'alarm', line: 3, code: 'leakage', active: true, value: 32.5, limit: 30 },
  ack: { ...head, type: 'ack', id: 'c-7f3a', ok: false, code: 34, msg: 'breaker timeout' },
  upgrade: {
    ...head,
    type: 'upgrade',
    id: 'u-91',
    state: 'done',
    progress: 40,
    version: '1.5.0',
    msg: 'ok',
  },
  schedules: {
    ...head,
    type: 'schedules',
    id: 'q-5',
    items: [{ slot: 1, lines: [1, 2], on: false, at: '22:30', days: [1, 2], enabled: true }],
  },
  params: {
    ...head,
    type: 'params',
    id: 'q-6',
    lines: [
      {
        line: 1,
        max_voltage_v: 264,
        min_voltage_v: 176,
        max_current_a: 32,
        max_leakage_ma: 30,
        max_temp_c: 85,
        max_power_w: 7000,
      },
    ],
  },
  offline: { ...head, type: 'offline' },
};

type Column = 'int2' | 'int4' | 'int8' | 'float4' | 'float8' | 'jsonb' | 'text' | 'none';

/**
 * Where each numeric field goes. `seq` is not stored (bounded to a 32-bit counter);
 * `ts` only reaches jsonb (clock events) and the clock rules.
 */
function columnOf(type: string, path: string): Column {
  const p = path.replace(/\.\d+\./g, '.*.').replace(/\.\d+$/, '.*');
  if (p === 'seq') return 'int8';
  if (p === 'ts') return 'jsonb';
  const map: Record<string, Column> = {
    'config_request:lines': 'int2',
    'telemetry:lines.*.line': 'int2',
    'telemetry:lines.*.energy_kwh': 'float8',
    'status:lines.*.line': 'int2',
    'alarm:line': 'int2',
    'alarm:value': 'float8',
    'alarm:limit': 'float8',
    'ack:code': 'int8',
    'upgrade:progress': 'int2',
  };
  if (map[`${type}:${p}`]) return map[`${type}:${p}`];
  if (type === 'telemetry' && p.startsWith('lines.*.')) return 'float4';
  if (type === 'schedules' || type === 'params') return 'jsonb';
  return 'none';
}

const RANGES: Record<'int2' | 'int4' | 'int8', [number, number]> = {
  int2: [-32768, 32767],
  int4: [INT32_MIN, INT32_MAX],
  int8: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};
const FLOAT32_MAX = 3.4028234663852886e38;
// What text and jsonb refuse (NUL, lone surrogates), plus what must not reach logs and UIs.
const UNSAFE_TEXT = new RegExp(
  // eslint-disable-next-line no-control-regex -- matching controls is the point
  '[\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2069\\ufeff]|\\p{Cs}',
  'u',
);

/** Every leaf of a decoded message is something its column (or jsonb) takes. */
function problems(type: string, value: unknown, path = ''): string[] {
  if (typeof value === 'string') {
    return UNSAFE_TEXT.test(value) ? [`${path}: unsafe character in ${JSON.stringify(value)}`] : [];
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return [`${path}: not finite`];
    const col = columnOf(type, path);
    if (col === 'int2' || col === 'int4' || col === 'int8') {
      const [lo, hi] = RANGES[col];
      if (!Number.isInteger(value) || value < lo || value > hi)
        return [`${path}: ${value} not ${col}`];
    }
    if (col === 'float4' && value !== 0) {
      const m = Math.abs(value);
      if (m < FLOAT32_MIN_NORMAL || m > FLOAT32_MAX) return [`${path}: ${value} not float4`];
    }
    return [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => problems(type, v, `${path}.${i}`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => problems(type, v, path ? `${path}.${k}` : k));
  }
  return [];
}

/** Paths of every leaf in a JSON value. */
function leaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, [...path, i]));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
  }
  return [path];
}

function withLeaf(obj: unknown, path: (string | number)[], v: unknown): unknown {
  const copy = structuredClone(obj) as Record<string | number, unknown>;
  let at = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  at[path[path.length - 1]] = v;
  return copy;
}

const HOSTILE_STRINGS = [
  'a\u0000b',
  '\u0000',
  'breaker\u0000timeout',
  'x\ud800y',
  '\udc00',
  'line\nfeed\r',
  '\u202e1.0',
  '\ufeff',
  'x'.repeat(300),
];
const HOSTILE_NUMBERS = [
  1e-50,
  -1e-50,
  5e-324,
  3000000000,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32,
  2 ** 53,
  -1,
  0.5,
  1e300,
];

describe('a decoded device message fits its columns', () => {
  for (const [type, example] of Object.entries(EXAMPLES)) {
    const schema = DEVICE_MESSAGE_SCHEMAS.get(type)!;

    it(`${type}: the example decodes and fits`, () => {
      const r = schema.safeParse(example);
      expect(r.success).toBe(true);
      expect(problems(type, r.data)).toEqual([]);
    });

    it(`${type}: hostile strings and numbers in every field either fail or fit`, () => {
      const found: string[] = [];
      for (const path of leaves(example)) {
        if (path[0] === 'type' || path[0] === 'sn') continue;
        for (const v of [...HOSTILE_STRINGS, ...HOSTILE_NUMBERS]) {
          const r = schema.safeParse(withLeaf(example, path, v));
          if (r.success) found.push(...problems(type, r.data));
        }
      }
      expect(found).toEqual([]);
    });
  }
});

describe('free text: unsafe characters are removed, then the length rule applies', () => {
  const FREE_TEXT: [DeviceMessageType, string, number, number][] = [
    ['config_request', 'fw', 1, 32],
    ['config_request', 'model', 1, 64],
    ['ack', 'msg', 0, 256],
    ['upgrade', 'version', 0, 32],
    ['upgrade', 'msg', 0, 256],
  ];

  it.each(FREE_TEXT)(
    '%s.%s keeps the text without NUL, controls, bidi marks, lone surrogates',
    (type, field) => {
      const schema = DEVICE_MESSAGE_SCHEMAS.get(type)!;
      const r = schema.safeParse({
        ...EXAMPLES[type],
        [field]: '1.0\u0000e\u0007v\u202ei\ud800l\ufeff',
      });
      expect(r.success).toBe(true);
      expect((r.data as Record<string, unknown>)[field]).toBe('1.0evil');
    },
  );

  it.each(FREE_TEXT)('%s.%s: the length bounds count the cleaned text', (type, field, min, max) => {
    const schema = DEVICE_MESSAGE_SCHEMAS.get(type)!;
    const padded = 'x'.repeat(max) + '\u0000'.repeat(5);
    expect(schema.safeParse({ ...EXAMPLES[type], [field]: padded }).success).toBe(true);
    const long = schema.safeParse({ ...EXAMPLES[type], [field]: 'x'.repeat(max + 1) });
    expect(long.success).toBe(false);
    expect(long.error!.issues[0].path).toEqual([field]);
    const onlyControls = schema.safeParse({ ...EXAMPLES[type], [field]: '\u0000\u0001' });
    if (min > 0) {
      expect(onlyControls.success).toBe(false);
      expect(onlyControls.error!.issues[0].path).toEqual([field]);
    } else {
      expect((onlyControls.data as Record<string, unknown>)[field]).toBe('');
    }
  });
});

describe('integers: within the column range the protocol rules give', () => {
  const INTS: [DeviceMessageType, string, number, number][] = [
    ['ack', 'code', INT32_MIN, UINT32_MAX],
    ['upgrade', 'progress', 0, 100],
    ['config_request', 'lines', 1, 64],
    ['alarm', 'line', 0, 64],
    ...Object.keys(EXAMPLES).map(
      (t) =>
        [t as DeviceMessageType, 'seq', 0, UINT32_MAX] as [
          DeviceMessageType,
          string,
          number,
          number,
        ],
    ),
  ];

  it.each(INTS)('%s.%s accepts %p..%p and nothing beyond', (type, field, lo, hi) => {
    const schema = DEVICE_MESSAGE_SCHEMAS.get(type)!;
    const at = (v: number) => schema.safeParse({ ...EXAMPLES[type], [field]: v });
    expect(at(lo).success).toBe(true);
    expect(at(hi).success).toBe(true);
    for (const bad of [lo - 1, hi + 1, lo + 0.5]) {
      const r = at(bad);
      expect(r.success).toBe(false);
      expect(r.error!.issues[0].path).toEqual([field]);
    }
  });

  it('keeps an unsigned 32-bit ack code such as 3000000000 (stored in bigint)', () => {
    const r = DEVICE_MESSAGE_SCHEMAS.get('ack')!.safeParse({ ...EXAMPLES.ack, code: 3000000000 });
    expect(r.success).toBe(true);
    expect((r.data as { code: number }).code).toBe(3000000000);
  });
});

describe('measurements: what a real column would refuse as underflow is read as 0', () => {
  const line = (m: Record<string, number>) => ({
    ...EXAMPLES.telemetry,
    lines: [{ line: 1, ...m }],
  });

  it.each([
    'voltage_v',
    'current_a',
    'power_w',
    'reactive_var',
    'pf',
    'freq_hz',
    'energy_kwh',
    'leakage_ma',
    'temp_c',
  ])('telemetry %s', (field) => {
    const parse = (v: number) => {
      const r = DEVICE_MESSAGE_SCHEMAS.get('telemetry')!.safeParse(line({ [field]: v }));
      expect(r.success).toBe(true);
      return (r.data as { lines: Record<string, number>[] }).lines[0][field];
    };
    expect(parse(1e-50)).toBe(0);
    // A negative underflow only where negatives are in range (else it is out of range).
    if (['power_w', 'reactive_var', 'pf', 'temp_c'].includes(field)) {
      expect(Math.abs(parse(-1e-50))).toBe(0);
    }
    expect(parse(FLOAT32_MIN_NORMAL)).toBe(FLOAT32_MIN_NORMAL);
    expect(parse(0.001)).toBe(0.001);
  });

  it('alarm value and limit', () => {
    const r = DEVICE_MESSAGE_SCHEMAS.get('alarm')!.safeParse({
      ...EXAMPLES.alarm,
      value: 1e-45,
      limit: -1e-300,
    });
    expect(r.success).toBe(true);
    expect(r.data).toMatchObject({ value: 0 });
    expect(Math.abs((r.data as { limit: number }).limit)).toBe(0);
  });
});

describe('the hostile replies of issue 8, through the decoder', () => {
  const decode = (msg: Record<string, unknown>) =>
    decodeDeviceMessage(SN, Buffer.from(JSON.stringify(msg)), { maxBytes: 65536 });

  it('ack code 3000000000 and msg "breaker\\u0000timeout" decode to storable values', () => {
    const r = decode({ ...EXAMPLES.ack, code: 3000000000, msg: 'breaker\u0000timeout' });
    expect(r).toEqual({
      ok: true,
      msg: expect.objectContaining({ code: 3000000000, msg: 'breakertimeout' }),
    });
  });

  it('config_request fw "1.0\\u0000evil" decodes to "1.0evil", in memory as in the database', () => {
    const r = decode({ ...EXAMPLES.config_request, fw: '1.0\u0000evil' });
    expect(r).toEqual({ ok: true, msg: expect.objectContaining({ fw: '1.0evil' }) });
  });

  it('an ack code beyond 32 bits is invalid_payload naming the field', () => {
    expect(decode({ ...EXAMPLES.ack, code: 2 ** 32 })).toMatchObject({
      ok: false,
      reason: 'invalid_payload',
      field: 'code',
    });
  });
});
