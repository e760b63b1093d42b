import {
  BACKEND_MESSAGE_TYPES,
  COMMAND_ID_RE,
  PARAMS_LINE_SCHEMA,
  ProtocolEncodeError,
  SCHEDULE_ITEM_SCHEMA,
  encodeBackendMessage,
  newCommandId,
  type BackendMessage,
  type ParamsLine,
  type ScheduleItem,
} from './backend-messages';

const SN = '202005010001';
const SHA = 'ab'.repeat(32);

const item = (over: Partial<ScheduleItem> = {}): ScheduleItem => ({
  slot: 1,
  lines: [1, 2],
  on: false,
  at: '22:30',
  days: [1, 2, 3, 4, 5],
  enabled: true,
  ...over,
});

const valid: Record<BackendMessage['type'], BackendMessage> = {
  config: {
    sn: SN,
    type: 'config',
    id: 'k-1',
    ts: 1732240001,
    report_s: 60,
    heartbeat_s: 30,
    delta_pct: 5,
  },
  switch: { sn: SN, type: 'switch', id: 'c-7f3a', ts: 1732240072, lines: [1, 3], on: false },
  schedules: { sn: SN, type: 'schedules', id: 's-12', ts: 1732240080, items: [item()] },
  params: {
    sn: SN,
    type: 'params',
    id: 'p-3',
    ts: 1732240090,
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
  upgrade: {
    sn: SN,
    type: 'upgrade',
    id: 'u-91',
    ts: 1732240100,
    url: 'https://fw.example.com/rj-c8/1.5.0.bin',
    version: '1.5.0',
    sha256: SHA,
    size: 524288,
  },
  query: { sn: SN, type: 'query', id: 'q-5', ts: 1732240000, what: 'status' },
  reboot: { sn: SN, type: 'reboot', id: 'r-2', ts: 1732240000 },
};

function expectEncodeError(msg: unknown, field: string | RegExp): void {
  if (typeof field === 'string') field = new RegExp(`^${field.replace(/\./g, '\\.')}$`);
  let err: unknown;
  try {
    encodeBackendMessage(msg as BackendMessage);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ProtocolEncodeError);
  expect((err as ProtocolEncodeError).field).toMatch(field);
  expect((err as ProtocolEncodeError).name).toBe('ProtocolEncodeError');
}

describe('encodeBackendMessage: exact bytes', () => {
  it('config', () => {
    expect(encodeBackendMessage(valid.config)).toBe(
      '{"sn":"202005010001","type":"config","id":"k-1","ts":1732240001,"report_s":60,"heartbeat_s":30,"delta_pct":5}',
    );
  });

  it('switch, with a list and with "all"', () => {
    expect(encodeBackendMessage(valid.switch)).toBe(
      '{"sn":"202005010001","type":"switch","id":"c-7f3a","ts":1732240072,"lines":[1,3],"on":false}',
    );
    expect(
      encodeBackendMessage({ ...valid.switch, lines: 'all', on: true } as BackendMessage),
    ).toBe(
      '{"sn":"202005010001","type":"switch","id":"c-7f3a","ts":1732240072,"lines":"all","on":true}',
    );
  });

  it('schedules, keys reordered to the documented order', () => {
    const shuffled = {
      enabled: true,
      days: [1, 2, 3, 4, 5],
      at: '22:30',
      on: false,
      lines: [1, 2],
      slot: 1,
    };
    const msg = { ts: 1732240080, items: [shuffled], id: 's-12', type: 'schedules', sn: SN };
    expect(encodeBackendMessage(msg as BackendMessage)).toBe(
      '{"sn":"202005010001","type":"schedules","id":"s-12","ts":1732240080,' +
        '"items":[{"slot":1,"lines":[1,2],"on":false,"at":"22:30","days":[1,2,3,4,5],"enabled":true}]}',
    );
  });

  it('schedules with an empty table (clears all timers)', () => {
    expect(encodeBackendMessage({ ...valid.schedules, items: [] } as BackendMessage)).toBe(
      '{"sn":"202005010001","type":"schedules","id":"s-12","ts":1732240080,"items":[]}',
    );
  });

  it('params, full and partial lines', () => {
    expect(encodeBackendMessage(valid.params)).toBe(
      '{"sn":"202005010001","type":"params","id":"p-3","ts":1732240090,' +
        '"lines":[{"line":1,"max_voltage_v":264,"min_voltage_v":176,"max_current_a":32,' +
        '"max_leakage_ma":30,"max_temp_c":85,"max_power_w":7000}]}',
    );
    const partial: ParamsLine[] = [
      { max_current_a: 16, line: 2 },
      { line: 3, max_temp_c: -10, max_voltage_v: undefined },
    ];
    expect(encodeBackendMessage({ ...valid.params, lines: partial } as BackendMessage)).toBe(
      '{"sn":"202005010001","type":"params","id":"p-3","ts":1732240090,' +
        '"lines":[{"line":2,"max_current_a":16},{"line":3,"max_temp_c":-10}]}',
    );
  });

  it('upgrade', () => {
    expect(encodeBackendMessage(valid.upgrade)).toBe(
      '{"sn":"202005010001","type":"upgrade","id":"u-91","ts":1732240100,' +
        `"url":"https://fw.example.com/rj-c8/1.5.0.bin","version":"1.5.0","sha256":"${SHA}","size":524288}`,
    );
  });

  it('query, every what', () => {
    for (const what of ['status', 'telemetry', 'schedules', 'params'] as const) {
      expect(encodeBackendMessage({ ...valid.query, what } as BackendMessage)).toBe(
        `{"sn":"202005010001","type":"query","id":"q-5","ts":1732240000,"what":"${what}"}`,
      );
    }
  });

  it('reboot', () => {
    expect(encodeBackendMessage(valid.reboot)).toBe(
      '{"sn":"202005010001","type":"reboot","id":"r-2","ts":1732240000}',
    );
  });

  it('covers every backend type', () => {
    expect(Object.keys(valid).sort()).toEqual([...BACKEND_MESSAGE_TYPES].sort());
  });
});

describe('encodeBackendMessage: rejects invalid input', () => {
  const bad = (type: BackendMessage['type'], over: Record<string, unknown>) => ({
    ...valid[type],
    ...over,
  });

  it.each([
    ['unknown type', { ...valid.reboot, type: 'explode' }, 'type'],
    ['prototype-ish type', { ...valid.reboot, type: 'constructor' }, 'type'],
    ['null message', null, 'type'],
    ['sn 11 digits', bad('reboot', { sn: '20200501000' }), 'sn'],
    ['sn number', bad('reboot', { sn: 202005010001 }), 'sn'],
    ['sn fullwidth', bad('reboot', { sn: '２０２００５０１０００１' }), 'sn'],
    ['id empty', bad('reboot', { id: '' }), 'id'],
    ['id 37 chars', bad('reboot', { id: 'a'.repeat(37) }), 'id'],
    ['id with space', bad('reboot', { id: 'a b' }), 'id'],
    ['ts fractional', bad('reboot', { ts: 1.5 }), 'ts'],
    ['ts negative', bad('reboot', { ts: -1 }), 'ts'],
    ['extra key', bad('reboot', { extra: 1 }), 'extra'],
    ['report_s 4', bad('config', { report_s: 4 }), 'report_s'],
    ['report_s 3601', bad('config', { report_s: 3601 }), 'report_s'],
    ['heartbeat_s 9', bad('config', { heartbeat_s: 9 }), 'heartbeat_s'],
    ['heartbeat_s 601', bad('config', { heartbeat_s: 601 }), 'heartbeat_s'],
    ['delta_pct 101', bad('config', { delta_pct: 101 }), 'delta_pct'],
    ['delta_pct NaN', bad('config', { delta_pct: NaN }), 'delta_pct'],
    ['switch empty lines', bad('switch', { lines: [] }), 'lines'],
    ['switch duplicate lines', bad('switch', { lines: [1, 1] }), 'lines'],
    ['switch line 65', bad('switch', { lines: [65] }), 'lines.0'],
    ['switch line 0', bad('switch', { lines: [0] }), 'lines.0'],
    ['switch lines "ALL"', bad('switch', { lines: 'ALL' }), 'lines'],
    ['switch on missing', bad('switch', { on: undefined }), 'on'],
    [
      '25 schedule items',
      bad('schedules', {
        items: Array.from({ length: 25 }, (_, i) => item({ slot: (i % 24) + 1 })),
      }),
      'items',
    ],
    ['duplicate slots', bad('schedules', { items: [item(), item()] }), 'items'],
    ['slot 0', bad('schedules', { items: [item({ slot: 0 })] }), 'items.0.slot'],
    ['slot 25', bad('schedules', { items: [item({ slot: 25 })] }), 'items.0.slot'],
    ['at 24:00', bad('schedules', { items: [item({ at: '24:00' })] }), 'items.0.at'],
    ['at 7:30', bad('schedules', { items: [item({ at: '7:30' })] }), 'items.0.at'],
    ['at 12:60', bad('schedules', { items: [item({ at: '12:60' })] }), 'items.0.at'],
    ['days [0]', bad('schedules', { items: [item({ days: [0] })] }), 'items.0.days.0'],
    ['days [8]', bad('schedules', { items: [item({ days: [8] })] }), 'items.0.days.0'],
    ['days empty', bad('schedules', { items: [item({ days: [] })] }), 'items.0.days'],
    ['days duplicate', bad('schedules', { items: [item({ days: [1, 1] })] }), 'items.0.days'],
    ['item lines empty', bad('schedules', { items: [item({ lines: [] })] }), 'items.0.lines'],
    ['item extra key', bad('schedules', { items: [{ ...item(), x: 1 }] }), 'items.0.x'],
    ['params empty', bad('params', { lines: [] }), 'lines'],
    [
      'params 65 lines',
      bad('params', { lines: Array.from({ length: 65 }, (_, i) => ({ line: i + 1 })) }),
      /^lines/,
    ],
    ['params duplicate line', bad('params', { lines: [{ line: 1 }, { line: 1 }] }), 'lines'],
    [
      'min == max voltage',
      bad('params', { lines: [{ line: 1, min_voltage_v: 230, max_voltage_v: 230 }] }),
      'lines.0.min_voltage_v',
    ],
    [
      'min > max voltage',
      bad('params', { lines: [{ line: 1, min_voltage_v: 250, max_voltage_v: 200 }] }),
      'lines.0.min_voltage_v',
    ],
    [
      'voltage 1001',
      bad('params', { lines: [{ line: 1, max_voltage_v: 1001 }] }),
      'lines.0.max_voltage_v',
    ],
    [
      'current -1',
      bad('params', { lines: [{ line: 1, max_current_a: -1 }] }),
      'lines.0.max_current_a',
    ],
    [
      'leakage 10001',
      bad('params', { lines: [{ line: 1, max_leakage_ma: 10001 }] }),
      'lines.0.max_leakage_ma',
    ],
    ['temp 201', bad('params', { lines: [{ line: 1, max_temp_c: 201 }] }), 'lines.0.max_temp_c'],
    ['temp -51', bad('params', { lines: [{ line: 1, max_temp_c: -51 }] }), 'lines.0.max_temp_c'],
    [
      'power Infinity',
      bad('params', { lines: [{ line: 1, max_power_w: Infinity }] }),
      'lines.0.max_power_w',
    ],
    ['params line extra key', bad('params', { lines: [{ line: 1, foo: 2 }] }), 'lines.0.foo'],
    ['sha256 63 chars', bad('upgrade', { sha256: SHA.slice(1) }), 'sha256'],
    ['sha256 65 chars', bad('upgrade', { sha256: SHA + 'a' }), 'sha256'],
    ['sha256 uppercase', bad('upgrade', { sha256: SHA.toUpperCase() }), 'sha256'],
    ['size 0', bad('upgrade', { size: 0 }), 'size'],
    ['size fractional', bad('upgrade', { size: 1.5 }), 'size'],
    ['version empty', bad('upgrade', { version: '' }), 'version'],
    ['version 33 chars', bad('upgrade', { version: '1'.repeat(33) }), 'version'],
    ['url too long', bad('upgrade', { url: 'https://x/' + 'a'.repeat(2040) }), 'url'],
    ['url not http', bad('upgrade', { url: 'file:///etc/passwd' }), 'url'],
    ['url with newline', bad('upgrade', { url: 'https://x/a\nb' }), 'url'],
    ['query what bad', bad('query', { what: 'everything' }), 'what'],
  ])('%s', (_label, msg, field) => {
    expectEncodeError(msg, field);
  });

  it('accepts the boundaries', () => {
    const ok = [
      bad('config', { report_s: 5, heartbeat_s: 10, delta_pct: 0 }),
      bad('config', { report_s: 3600, heartbeat_s: 600, delta_pct: 100 }),
      bad('config', { delta_pct: 2.5 }),
      bad('switch', { lines: Array.from({ length: 64 }, (_, i) => i + 1) }),
      bad('schedules', {
        items: Array.from({ length: 24 }, (_, i) =>
          item({ slot: i + 1, at: i % 2 ? '00:00' : '23:59', days: [7, 1] }),
        ),
      }),
      bad('params', { lines: [{ line: 64, min_voltage_v: 0, max_voltage_v: 1000 }] }),
      bad('upgrade', { url: 'http://10.0.0.5/fw.bin', version: 'v'.repeat(32) }),
      bad('reboot', { id: 'A'.repeat(36), ts: 0 }),
    ];
    for (const msg of ok) expect(() => encodeBackendMessage(msg as BackendMessage)).not.toThrow();
  });

  it('includes the field in the message', () => {
    expect(() => encodeBackendMessage(bad('config', { report_s: 1 }) as BackendMessage)).toThrow(
      /report_s/,
    );
  });
});

describe('shared item schemas (device reports)', () => {
  it('strip unknown keys rather than failing', () => {
    expect(SCHEDULE_ITEM_SCHEMA.parse({ ...item(), extra: 1 })).toEqual(item());
    expect(PARAMS_LINE_SCHEMA.parse({ line: 1, foo: 'x' })).toEqual({ line: 1 });
  });

  it('still enforce ranges and min < max', () => {
    expect(SCHEDULE_ITEM_SCHEMA.safeParse(item({ at: '24:00' })).success).toBe(false);
    expect(
      PARAMS_LINE_SCHEMA.safeParse({ line: 1, min_voltage_v: 300, max_voltage_v: 200 }).success,
    ).toBe(false);
  });
});

describe('newCommandId', () => {
  it.each([
    ['config', 'k'],
    ['switch', 'c'],
    ['schedules', 's'],
    ['params', 'p'],
    ['upgrade', 'u'],
    ['query', 'q'],
    ['reboot', 'r'],
  ] as const)('%s ids start with %s-', (type, prefix) => {
    const id = newCommandId(type);
    expect(id.startsWith(`${prefix}-`)).toBe(true);
    expect(id).toMatch(COMMAND_ID_RE);
    expect(id.length).toBeLessThanOrEqual(36);
    // 128 bits of base64url
    expect(id.slice(2)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('is unique in practice and usable in a command', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newCommandId('switch')));
    expect(ids.size).toBe(10_000);
    const id = newCommandId('reboot');
    expect(encodeBackendMessage({ ...valid.reboot, id } as BackendMessage)).toContain(
      `"id":"${id}"`,
    );
  });

  it('rejects unknown types, including prototype keys', () => {
    for (const t of ['nope', 'constructor', '__proto__', 'toString']) {
      expect(() => newCommandId(t as BackendMessage['type'])).toThrow();
    }
  });
});

describe('COMMAND_ID_RE', () => {
  it('matches protocol.md', () => {
    expect(COMMAND_ID_RE.test('c-7f3a')).toBe(true);
    expect(COMMAND_ID_RE.test('A_b-9')).toBe(true);
    expect(COMMAND_ID_RE.test('')).toBe(false);
    expect(COMMAND_ID_RE.test('a'.repeat(37))).toBe(false);
    expect(COMMAND_ID_RE.test('a.b')).toBe(false);
    expect(COMMAND_ID_RE.test('a\n')).toBe(false);
  });
});
