import { decodeDeviceMessage, type DecodeResult } from './decode';
import { REJECTION_REASONS } from './rejections';

const SN = '202005010001';
const OPTS = { maxBytes: 64 * 1024 };

const buf = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8');
const decode = (v: unknown, topicSn = SN, opts = OPTS) =>
  decodeDeviceMessage(topicSn, buf(v), opts);

function expectReject(r: DecodeResult, reason: string, field?: string): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.reason).toBe(reason);
  expect(r.field).toBe(field);
  expect(typeof r.detail).toBe('string');
  expect(r.detail.length).toBeGreaterThan(0);
  expect(r.detail.length).toBeLessThanOrEqual(200);
}

const telemetry = {
  sn: SN,
  type: 'telemetry',
  ts: 1732240060,
  seq: 2,
  lines: [{ line: 1, on: true, voltage_v: 221.3, current_a: 3.21 }],
};

describe('decodeDeviceMessage: accepted', () => {
  it.each([
    `{"sn":"${SN}","type":"config_request","ts":1732240000,"seq":1,"fw":"1.4.2","model":"RJ-C8","lines":8,"io":"eth"}`,
    `{"sn":"${SN}","type":"telemetry","ts":1732240060,"seq":2,"lines":[{"line":1,"on":true,"voltage_v":221.3,"current_a":3.21,"power_w":690.5,"reactive_var":40.2,"pf":0.98,"freq_hz":50.0,"energy_kwh":1234.56,"leakage_ma":2.1,"temp_c":35.2}]}`,
    `{"sn":"${SN}","type":"status","ts":1732240070,"seq":3,"lines":[{"line":3,"on":false,"cause":"leakage"}]}`,
    `{"sn":"${SN}","type":"alarm","ts":1732240071,"seq":4,"line":3,"code":"leakage","active":true,"value":32.5,"limit":30}`,
    `{"sn":"${SN}","type":"ack","ts":1732240072,"id":"c-7f3a","ok":false,"code":34,"msg":"breaker timeout"}`,
    `{"sn":"${SN}","type":"upgrade","ts":1732240100,"id":"u-91","state":"downloading","progress":40}`,
    `{"sn":"${SN}","type":"schedules","ts":1732240100,"id":"q-5","items":[{"slot":1,"lines":[1,2],"on":false,"at":"22:30","days":[1,2,3,4,5],"enabled":true}]}`,
    `{"sn":"${SN}","type":"params","ts":1732240100,"id":"q-6","lines":[{"line":1,"max_voltage_v":264,"min_voltage_v":176}]}`,
    `{"sn":"${SN}","type":"offline"}`,
  ])('protocol.md example %#', (json) => {
    const r = decodeDeviceMessage(SN, Buffer.from(json), OPTS);
    expect(r).toEqual({ ok: true, msg: JSON.parse(json) });
  });

  it('accepts a payload of exactly maxBytes', () => {
    const b = buf(telemetry);
    expect(decodeDeviceMessage(SN, b, { maxBytes: b.length }).ok).toBe(true);
  });

  it('ignores and drops unknown fields, at every level', () => {
    const r = decode({ ...telemetry, future: 1, lines: [{ ...telemetry.lines[0], hz2: 3 }] });
    expect(r).toEqual({ ok: true, msg: telemetry });
  });

  it('tolerates whitespace and a UTF-8 BOM', () => {
    const json = `\ufeff  ${JSON.stringify(telemetry)}\n`;
    expect(decodeDeviceMessage(SN, Buffer.from(json), OPTS).ok).toBe(true);
  });
});

describe('decodeDeviceMessage: too_large', () => {
  it('rejects over the cap', () => {
    const b = buf(telemetry);
    expectReject(decodeDeviceMessage(SN, b, { maxBytes: b.length - 1 }), 'too_large');
  });

  it('checks size before parsing anything', () => {
    const spy = jest.spyOn(JSON, 'parse');
    try {
      const junk = Buffer.alloc(70_000, 0x7b); // "{{{{…": invalid JSON
      expectReject(decodeDeviceMessage(SN, junk, OPTS), 'too_large');
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });
});

describe('decodeDeviceMessage: bad_json', () => {
  it.each([
    ['empty', ''],
    ['not JSON', 'hello'],
    ['truncated', JSON.stringify(telemetry).slice(0, 40)],
    ['trailing garbage', `${JSON.stringify(telemetry)}x`],
    ['two objects', '{}{}'],
    ['NaN literal', `{"sn":"${SN}","type":"telemetry","ts":NaN}`],
    ['single quotes', "{'sn':'1'}"],
    ['array', '[]'],
    ['array of message', JSON.stringify([telemetry])],
    ['null', 'null'],
    ['number', '42'],
    ['string', '"hello"'],
    ['boolean', 'true'],
  ])('%s', (_label, payload) => {
    expectReject(decode(payload), 'bad_json');
  });

  it('rejects invalid UTF-8 instead of storing replacement chars', () => {
    const b = Buffer.concat([
      Buffer.from(`{"sn":"${SN}","type":"ack","msg":"`),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    expectReject(decodeDeviceMessage(SN, b, OPTS), 'bad_json');
  });

  it('survives deep nesting', () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const r = decodeDeviceMessage(SN, Buffer.from(deep), OPTS);
    expect(r.ok).toBe(false);
  });
});

describe('decodeDeviceMessage: bad_serial', () => {
  it.each([
    ['missing', { ...telemetry, sn: undefined }],
    ['JSON number', { ...telemetry, sn: 202005010001 }],
    ['null', { ...telemetry, sn: null }],
    ['object', { ...telemetry, sn: { a: 1 } }],
    ['11 digits', { ...telemetry, sn: '20200501000' }],
    ['13 digits', { ...telemetry, sn: '2020050100011' }],
    ['Devanagari digits', { ...telemetry, sn: '२०२००५०१०००१' }],
    ['fullwidth digits', { ...telemetry, sn: '２０２００５０１０００１' }],
    ['with newline', { ...telemetry, sn: `${SN}\n` }],
  ])('%s', (_label, msg) => {
    const r = decode(msg);
    expectReject(r, 'bad_serial', 'sn');
    expect(r.ok || r.payloadSn).toBeFalsy();
  });

  it('keeps control characters out of the detail', () => {
    const r = decode({ ...telemetry, sn: 'x\u001b[31m\n' });
    expectReject(r, 'bad_serial', 'sn');
    expect(r.ok ? '' : r.detail).toMatch(/^[\x20-\x7e]*$/);
  });

  it('is checked before the type', () => {
    expectReject(decode({ sn: 1, type: 'nope' }), 'bad_serial', 'sn');
  });
});

describe('decodeDeviceMessage: serial_mismatch', () => {
  it('rejects a payload sn that differs from the topic sn', () => {
    const r = decode({ ...telemetry, sn: '202005010002' });
    expectReject(r, 'serial_mismatch');
    expect(r.ok ? undefined : r.payloadSn).toBe('202005010002');
  });

  it('is checked before the type and the schema', () => {
    expectReject(decode({ sn: '999999999999', type: 'nope' }), 'serial_mismatch');
  });
});

describe('decodeDeviceMessage: unknown_type', () => {
  it.each([
    ['missing', undefined],
    ['unknown string', 'explode'],
    ['number', 5],
    ['wrong case', 'Telemetry'],
    ['backend type', 'switch'],
    ['__proto__', '__proto__'],
    ['constructor', 'constructor'],
    ['toString', 'toString'],
  ])('%s', (_label, type) => {
    expectReject(decode({ ...telemetry, type }), 'unknown_type', 'type');
  });
});

describe('decodeDeviceMessage: invalid_payload', () => {
  it('reports the first failing path', () => {
    const r = decode({ ...telemetry, lines: [{ line: 1 }, { line: 2, voltage_v: 5000 }] });
    expectReject(r, 'invalid_payload', 'lines.1.voltage_v');
    expect(r.ok ? '' : r.detail).toMatch(/^lines\.1\.voltage_v: /);
  });

  it('rejects 1e400 (parses to Infinity) and -1e400', () => {
    expectReject(
      decodeDeviceMessage(
        SN,
        Buffer.from(
          `{"sn":"${SN}","type":"telemetry","ts":1,"lines":[{"line":1,"energy_kwh":1e400}]}`,
        ),
        OPTS,
      ),
      'invalid_payload',
      'lines.0.energy_kwh',
    );
    expectReject(
      decodeDeviceMessage(
        SN,
        Buffer.from(
          `{"sn":"${SN}","type":"telemetry","ts":1,"lines":[{"line":1,"power_w":-1e400}]}`,
        ),
        OPTS,
      ),
      'invalid_payload',
      'lines.0.power_w',
    );
    expectReject(
      decodeDeviceMessage(
        SN,
        Buffer.from(`{"sn":"${SN}","type":"alarm","ts":1e400,"line":1,"code":"arc","active":true}`),
        OPTS,
      ),
      'invalid_payload',
      'ts',
    );
  });

  it.each([
    ['voltage', { voltage_v: 1001 }, 'lines.0.voltage_v'],
    ['current', { current_a: 10001 }, 'lines.0.current_a'],
    ['pf', { pf: 2 }, 'lines.0.pf'],
    ['temp', { temp_c: -60 }, 'lines.0.temp_c'],
    ['line 0', { line: 0 }, 'lines.0.line'],
  ])('out of range %s', (_label, over, field) => {
    expectReject(
      decode({ ...telemetry, lines: [{ ...telemetry.lines[0], ...over }] }),
      'invalid_payload',
      field,
    );
  });

  it('rejects duplicate line numbers with field "lines"', () => {
    const lines = [
      { line: 4, on: true },
      { line: 4, on: false },
    ];
    expectReject(decode({ ...telemetry, type: 'status', lines }), 'invalid_payload', 'lines');
    expectReject(decode({ ...telemetry, lines }), 'invalid_payload', 'lines');
  });

  it('requires ts except on offline', () => {
    expectReject(decode({ ...telemetry, ts: undefined }), 'invalid_payload', 'ts');
    expect(decode({ sn: SN, type: 'offline' }).ok).toBe(true);
  });

  it('keeps the detail short', () => {
    const r = decode({ sn: SN, type: 'ack', ts: 1, id: 'x'.repeat(5000), ok: true });
    expectReject(r, 'invalid_payload', 'id');
  });
});

describe('decodeDeviceMessage: prototype pollution', () => {
  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('drops __proto__ and constructor keys at the top level', () => {
    const json = `{"sn":"${SN}","type":"telemetry","ts":1,"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"lines":[{"line":1}]}`;
    const r = decodeDeviceMessage(SN, Buffer.from(json), OPTS);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Object.getPrototypeOf(r.msg)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(r.msg, '__proto__')).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(r.msg, 'constructor')).toBe(false);
    expect(Object.keys(r.msg).sort()).toEqual(['lines', 'sn', 'ts', 'type']);
    expect((r.msg as unknown as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('drops them inside nested line objects', () => {
    const json = `{"sn":"${SN}","type":"status","ts":1,"lines":[{"line":1,"on":true,"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}]}`;
    const r = decodeDeviceMessage(SN, Buffer.from(json), OPTS);
    expect(r.ok).toBe(true);
    if (!r.ok || r.msg.type !== 'status') return;
    const line = r.msg.lines[0];
    expect(Object.getPrototypeOf(line)).toBe(Object.prototype);
    expect(Object.keys(line).sort()).toEqual(['line', 'on']);
    expect(Object.prototype.hasOwnProperty.call(line, '__proto__')).toBe(false);
    expect(JSON.stringify(r.msg)).not.toMatch(/__proto__|constructor|polluted/);
  });

  it('cannot use __proto__ to smuggle sn or type', () => {
    const json = `{"__proto__":{"sn":"${SN}","type":"telemetry"},"ts":1,"lines":[{"line":1}]}`;
    expectReject(decodeDeviceMessage(SN, Buffer.from(json), OPTS), 'bad_serial', 'sn');
  });
});

describe('decodeDeviceMessage: robustness', () => {
  it('produces every decode-level rejection reason', () => {
    const seen = new Set<string>();
    const cases: [Buffer, number][] = [
      [buf(telemetry), 10],
      [buf('{'), OPTS.maxBytes],
      [buf({ ...telemetry, sn: 1 }), OPTS.maxBytes],
      [buf({ ...telemetry, sn: '111111111111' }), OPTS.maxBytes],
      [buf({ ...telemetry, type: 'x' }), OPTS.maxBytes],
      [buf({ ...telemetry, ts: -1 }), OPTS.maxBytes],
    ];
    for (const [b, maxBytes] of cases) {
      const r = decodeDeviceMessage(SN, b, { maxBytes });
      if (!r.ok) seen.add(r.reason);
    }
    expect([...seen].sort()).toEqual(
      [
        'bad_json',
        'bad_serial',
        'invalid_payload',
        'serial_mismatch',
        'too_large',
        'unknown_type',
      ].sort(),
    );
    for (const r of seen) expect(REJECTION_REASONS).toContain(r);
  });

  it('never throws on random bytes', () => {
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 500; i++) {
      const len = Math.floor(rnd() * 200);
      const b = Buffer.from(Array.from({ length: len }, () => Math.floor(rnd() * 256)));
      expect(() => decodeDeviceMessage(SN, b, OPTS)).not.toThrow();
    }
  });

  it('never throws on mutated valid messages', () => {
    const base = JSON.stringify(telemetry);
    for (let i = 0; i < base.length; i++) {
      for (const c of ['"', '}', '1', '-', ' ', '\\', 'e']) {
        const s = base.slice(0, i) + c + base.slice(i + 1);
        expect(() => decode(s)).not.toThrow();
      }
    }
  });
});

describe('decodeDeviceMessage: detail', () => {
  it('stays within 200 chars and never splits a surrogate pair', () => {
    const r = decode({ ...telemetry, type: '😀'.repeat(300) });
    expectReject(r, 'unknown_type', 'type');
    const many = decode({ ...telemetry, sn: '\u0001'.repeat(40) });
    expectReject(many, 'bad_serial', 'sn');
    for (const x of [r, many]) {
      const d = x.ok ? '' : x.detail;
      expect(d).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    }
  });
});
