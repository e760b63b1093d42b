import {
  ALARM_CODES,
  AckMsg,
  AlarmMsg,
  ConfigRequestMsg,
  DEVICE_MESSAGE_SCHEMAS,
  DEVICE_MESSAGE_TYPES,
  IO_KINDS,
  OfflineMsg,
  ParamsReportMsg,
  STATUS_CAUSES,
  SchedulesReportMsg,
  StatusMsg,
  TelemetryMsg,
  UPGRADE_STATES,
  UpgradeProgressMsg,
} from './device-messages';

const SN = '202005010001';
const head = { sn: SN, ts: 1732240000, seq: 1 };

// The protocol.md §3 examples, verbatim.
const EXAMPLES = {
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
        freq_hz: 50.0,
        energy_kwh: 1234.56,
        leakage_ma: 2.1,
        temp_c: 35.2,
      },
    ],
  },
  status: { ...head, type: 'status', lines: [{ line: 3, on: false, cause: 'leakage' }] },
  alarm: { ...head, type: 'alarm', line: 3, code: 'leakage', active: true, value: 32.5, limit: 30 },
  ack: { ...head, type: 'ack', id: 'c-7f3a', ok: false, code: 34, msg: 'breaker timeout' },
  upgrade: { ...head, type: 'upgrade', id: 'u-91', state: 'downloading', progress: 40 },
  schedules: {
    ...head,
    type: 'schedules',
    id: 'q-5',
    items: [
      { slot: 1, lines: [1, 2], on: false, at: '22:30', days: [1, 2, 3, 4, 5], enabled: true },
    ],
  },
  params: {
    ...head,
    type: 'params',
    lines: [{ line: 1, max_voltage_v: 264, min_voltage_v: 176, max_current_a: 32 }],
  },
  offline: { sn: SN, type: 'offline' },
} as const;

type Schema = {
  safeParse(v: unknown): {
    success: boolean;
    data?: unknown;
    error?: { issues: { path: PropertyKey[] }[] };
  };
};

function firstPath(schema: Schema, v: unknown): string | undefined {
  const r = schema.safeParse(v);
  return r.success ? undefined : r.error!.issues[0].path.map(String).join('.');
}

describe('device message catalogue', () => {
  it('has a schema for every type and an example for each', () => {
    expect([...DEVICE_MESSAGE_SCHEMAS.keys()].sort()).toEqual([...DEVICE_MESSAGE_TYPES].sort());
    expect(Object.keys(EXAMPLES).sort()).toEqual([...DEVICE_MESSAGE_TYPES].sort());
  });

  it('enums match protocol.md', () => {
    expect(IO_KINDS).toEqual(['eth', 'wifi', '4g', 'nb', 'lora', 'gprs', 'mesh', 'other']);
    expect(STATUS_CAUSES).toHaveLength(19);
    expect(ALARM_CODES).toHaveLength(12);
    expect(UPGRADE_STATES).toEqual([
      'downloading',
      'verifying',
      'installing',
      'done',
      'failed',
      'rejected',
    ]);
  });

  it.each(Object.entries(EXAMPLES))('accepts the %s example unchanged', (type, example) => {
    const r = DEVICE_MESSAGE_SCHEMAS.get(type)!.safeParse(example);
    expect(r.success).toBe(true);
    expect(r.data).toEqual(example);
  });

  it.each(Object.entries(EXAMPLES).filter(([t]) => t !== 'offline'))(
    '%s requires ts, accepts no seq, rejects bad seq',
    (type, example) => {
      const schema = DEVICE_MESSAGE_SCHEMAS.get(type)!;
      const { ts: _ts, ...noTs } = example as Record<string, unknown>;
      expect(firstPath(schema, noTs)).toBe('ts');
      const { seq: _seq, ...noSeq } = example as Record<string, unknown>;
      expect(schema.safeParse(noSeq).success).toBe(true);
      expect(firstPath(schema, { ...example, seq: -1 })).toBe('seq');
      expect(firstPath(schema, { ...example, seq: 1.5 })).toBe('seq');
      expect(firstPath(schema, { ...example, ts: 1.5 })).toBe('ts');
      expect(firstPath(schema, { ...example, ts: -1 })).toBe('ts');
      expect(firstPath(schema, { ...example, ts: '1732240000' })).toBe('ts');
    },
  );

  it.each(Object.entries(EXAMPLES))('%s strips unknown keys', (type, example) => {
    const r = DEVICE_MESSAGE_SCHEMAS.get(type)!.safeParse({ ...example, extra: { a: 1 } });
    expect(r.success).toBe(true);
    expect(r.data).not.toHaveProperty('extra');
  });
});

describe('config_request', () => {
  const ex = EXAMPLES.config_request;
  it.each([
    ['fw', { fw: '' }],
    ['fw', { fw: 'x'.repeat(33) }],
    ['model', { model: '' }],
    ['model', { model: 'x'.repeat(65) }],
    ['lines', { lines: 0 }],
    ['lines', { lines: 65 }],
    ['lines', { lines: 8.5 }],
    ['io', { io: 'usb' }],
    ['io', { io: undefined }],
  ])('rejects bad %s', (field, over) => {
    expect(firstPath(ConfigRequestMsg, { ...ex, ...over })).toBe(field);
  });
  it.each(IO_KINDS)('accepts io %s', (io) => {
    expect(ConfigRequestMsg.safeParse({ ...ex, io }).success).toBe(true);
  });
});

describe('telemetry', () => {
  const ex = EXAMPLES.telemetry;
  const withLine = (l: Record<string, unknown>) => ({ ...ex, lines: [{ line: 1, ...l }] });

  it('accepts a line with no measurements and the range boundaries', () => {
    expect(TelemetryMsg.safeParse(withLine({})).success).toBe(true);
    const lo = {
      voltage_v: 0,
      current_a: 0,
      power_w: -1e7,
      reactive_var: -1e7,
      pf: -1,
      freq_hz: 0,
      energy_kwh: 0,
      leakage_ma: 0,
      temp_c: -50,
    };
    const hi = {
      voltage_v: 1000,
      current_a: 10000,
      power_w: 1e7,
      reactive_var: 1e7,
      pf: 1,
      freq_hz: 100,
      energy_kwh: 1e9,
      leakage_ma: 10000,
      temp_c: 200,
    };
    expect(TelemetryMsg.safeParse(withLine(lo)).success).toBe(true);
    expect(TelemetryMsg.safeParse(withLine(hi)).success).toBe(true);
    const many = { ...ex, lines: Array.from({ length: 64 }, (_, i) => ({ line: i + 1 })) };
    expect(TelemetryMsg.safeParse(many).success).toBe(true);
  });

  it.each([
    ['voltage_v', -0.1],
    ['voltage_v', 1000.1],
    ['current_a', 10001],
    ['current_a', -1],
    ['power_w', 1e7 + 1],
    ['power_w', -1e7 - 1],
    ['reactive_var', 2e7],
    ['pf', 1.01],
    ['pf', -1.01],
    ['freq_hz', 101],
    ['energy_kwh', -1],
    ['energy_kwh', 1e9 + 1],
    ['leakage_ma', 10001],
    ['temp_c', -51],
    ['temp_c', 201],
    ['temp_c', Infinity],
    ['voltage_v', NaN],
    ['voltage_v', '230'],
    ['on', 'true'],
    ['line', 0],
    ['line', 65],
    ['line', 1.5],
  ])('rejects %s = %p', (field, value) => {
    expect(firstPath(TelemetryMsg, withLine({ [field]: value }))).toBe(`lines.0.${field}`);
  });

  it('rejects empty, oversized, duplicate and non-array lines', () => {
    expect(firstPath(TelemetryMsg, { ...ex, lines: [] })).toBe('lines');
    expect(firstPath(TelemetryMsg, { ...ex, lines: [{ line: 2 }, { line: 2 }] })).toBe('lines');
    const tooMany = Array.from({ length: 65 }, (_, i) => ({ line: (i % 64) + 1 }));
    expect(firstPath(TelemetryMsg, { ...ex, lines: tooMany })).toBe('lines');
    expect(firstPath(TelemetryMsg, { ...ex, lines: { line: 1 } })).toBe('lines');
    expect(firstPath(TelemetryMsg, { ...ex, lines: undefined })).toBe('lines');
  });
});

describe('status', () => {
  const ex = EXAMPLES.status;
  it('accepts every cause and no cause', () => {
    for (const cause of STATUS_CAUSES) {
      expect(StatusMsg.safeParse({ ...ex, lines: [{ line: 1, on: true, cause }] }).success).toBe(
        true,
      );
    }
    expect(StatusMsg.safeParse({ ...ex, lines: [{ line: 1, on: true }] }).success).toBe(true);
  });
  it('rejects a missing on, an unknown cause, duplicate lines', () => {
    expect(firstPath(StatusMsg, { ...ex, lines: [{ line: 1 }] })).toBe('lines.0.on');
    expect(firstPath(StatusMsg, { ...ex, lines: [{ line: 1, on: 1 }] })).toBe('lines.0.on');
    expect(firstPath(StatusMsg, { ...ex, lines: [{ line: 1, on: true, cause: 'magic' }] })).toBe(
      'lines.0.cause',
    );
    expect(
      firstPath(StatusMsg, {
        ...ex,
        lines: [
          { line: 1, on: true },
          { line: 1, on: false },
        ],
      }),
    ).toBe('lines');
  });
});

describe('alarm', () => {
  const ex = EXAMPLES.alarm;
  it('accepts line 0 (the concentrator), every code, no value/limit', () => {
    for (const code of ALARM_CODES) {
      expect(
        AlarmMsg.safeParse({ ...ex, line: 0, code, value: undefined, limit: undefined }).success,
      ).toBe(true);
    }
  });
  it.each([
    ['line', { line: -1 }],
    ['line', { line: 65 }],
    ['code', { code: 'fire' }],
    ['active', { active: 'yes' }],
    ['active', { active: undefined }],
    ['value', { value: Infinity }],
    ['limit', { limit: 'x' }],
  ])('rejects bad %s', (field, over) => {
    expect(firstPath(AlarmMsg, { ...ex, ...over })).toBe(field);
  });
});

describe('ack', () => {
  const ex = EXAMPLES.ack;
  it('accepts a minimal ack', () => {
    expect(AckMsg.safeParse({ sn: SN, type: 'ack', ts: 1, id: 'c-1', ok: true }).success).toBe(
      true,
    );
  });
  it.each([
    ['id', { id: undefined }],
    ['id', { id: '' }],
    ['id', { id: 'x'.repeat(37) }],
    ['id', { id: 'a/b' }],
    ['ok', { ok: undefined }],
    ['ok', { ok: 'false' }],
    ['code', { code: 3.5 }],
    ['code', { code: '34' }],
    ['msg', { msg: 'x'.repeat(257) }],
    ['msg', { msg: 5 }],
  ])('rejects bad %s', (field, over) => {
    expect(firstPath(AckMsg, { ...ex, ...over })).toBe(field);
  });
});

describe('upgrade progress', () => {
  const ex = EXAMPLES.upgrade;
  it('accepts every state and a done with version', () => {
    for (const state of UPGRADE_STATES) {
      expect(UpgradeProgressMsg.safeParse({ ...ex, state }).success).toBe(true);
    }
    expect(
      UpgradeProgressMsg.safeParse({
        ...ex,
        state: 'done',
        progress: 100,
        version: '1.5.0',
        msg: 'ok',
      }).success,
    ).toBe(true);
  });
  it.each([
    ['id', { id: undefined }],
    ['state', { state: 'exploded' }],
    ['progress', { progress: 101 }],
    ['progress', { progress: -1 }],
    ['progress', { progress: 50.5 }],
    ['version', { version: 'x'.repeat(33) }],
    ['msg', { msg: 'x'.repeat(257) }],
  ])('rejects bad %s', (field, over) => {
    expect(firstPath(UpgradeProgressMsg, { ...ex, ...over })).toBe(field);
  });
});

describe('schedules report', () => {
  const ex = EXAMPLES.schedules;
  const it1 = ex.items[0];
  it('accepts no id and an empty table', () => {
    expect(SchedulesReportMsg.safeParse({ ...ex, id: undefined, items: [] }).success).toBe(true);
  });
  it.each([
    ['id', { id: 'bad id' }],
    ['items', { items: undefined }],
    ['items', { items: [it1, it1] }],
    ['items', { items: Array.from({ length: 25 }, (_, i) => ({ ...it1, slot: i + 1 })) }],
    ['items.0.at', { items: [{ ...it1, at: '24:00' }] }],
    ['items.0.days.0', { items: [{ ...it1, days: [0] }] }],
    ['items.0.slot', { items: [{ ...it1, slot: 25 }] }],
  ])('rejects bad %s', (field, over) => {
    expect(firstPath(SchedulesReportMsg, { ...ex, ...over })).toBe(field);
  });
});

describe('params report', () => {
  const ex = EXAMPLES.params;
  it.each([
    ['id', { id: '' }],
    ['lines', { lines: [] }],
    ['lines', { lines: [{ line: 1 }, { line: 1 }] }],
    ['lines.0.min_voltage_v', { lines: [{ line: 1, min_voltage_v: 240, max_voltage_v: 230 }] }],
    ['lines.0.max_power_w', { lines: [{ line: 1, max_power_w: -5 }] }],
  ])('rejects bad %s', (field, over) => {
    expect(firstPath(ParamsReportMsg, { ...ex, ...over })).toBe(field);
  });
});

describe('offline', () => {
  it('accepts with or without ts/seq', () => {
    expect(OfflineMsg.safeParse({ sn: SN, type: 'offline' }).success).toBe(true);
    expect(OfflineMsg.safeParse({ sn: SN, type: 'offline', ts: 5, seq: 9 }).success).toBe(true);
  });
  it('rejects a bad ts or sn', () => {
    expect(firstPath(OfflineMsg, { sn: SN, type: 'offline', ts: -5 })).toBe('ts');
    expect(firstPath(OfflineMsg, { sn: '1', type: 'offline' })).toBe('sn');
  });
});
