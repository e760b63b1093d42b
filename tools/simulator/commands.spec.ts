import { validateCommand } from './commands';
import { Json } from './protocol';

const SN = '202005010001';
const cmd = (extra: Json): Json => ({ sn: SN, id: 'c-1', ts: 1732240000, ...extra });
const check = (m: Json | undefined) => validateCommand(m, SN, 8);

describe('validateCommand', () => {
  it('accepts the examples of protocol §4', () => {
    const ok = [
      cmd({ type: 'config', report_s: 60, heartbeat_s: 30, delta_pct: 5 }),
      cmd({ type: 'switch', lines: [1, 3], on: false }),
      cmd({ type: 'switch', lines: 'all', on: true }),
      cmd({
        type: 'schedules',
        items: [{ slot: 1, lines: [1, 2], on: false, at: '22:30', days: [1, 2, 3], enabled: true }],
      }),
      cmd({ type: 'schedules', items: [] }),
      cmd({ type: 'params', lines: [{ line: 1, max_voltage_v: 264, max_current_a: 32 }] }),
      cmd({ type: 'query', what: 'params' }),
      cmd({ type: 'reboot' }),
      cmd({
        type: 'upgrade',
        url: 'https://fw.example.com/a.bin',
        version: '1.5.0',
        sha256: 'a'.repeat(64),
        size: 10,
      }),
    ];
    for (const m of ok) expect(check(m)).toMatchObject({ ok: true, cmd: { type: m.type } });
  });

  it('rejects a missing or malformed id with code 1 and no echoed id', () => {
    expect(check(cmd({ type: 'reboot', id: undefined }))).toEqual({
      ok: false,
      code: 1,
      msg: 'bad or missing id',
      id: undefined,
      type: 'reboot',
    });
    expect(check(cmd({ type: 'reboot', id: 'has space' }))).toMatchObject({ code: 1 });
    expect(check(cmd({ type: 'reboot', id: 'x'.repeat(37) }))).toMatchObject({ code: 1 });
  });

  it('rejects a foreign serial with code 1, echoing the id', () => {
    expect(check(cmd({ type: 'reboot', sn: '202005010002' }))).toMatchObject({
      ok: false,
      code: 1,
      id: 'c-1',
    });
  });

  it('answers an unknown type with code 5', () => {
    expect(check(cmd({ type: 'selfdestruct' }))).toMatchObject({ ok: false, code: 5, id: 'c-1' });
  });

  it('rejects non-objects and a missing ts', () => {
    expect(check(undefined)).toMatchObject({ ok: false, code: 1 });
    expect(check(cmd({ type: 'reboot', ts: '1732240000' }))).toMatchObject({ code: 1 });
  });

  it('uses code 2 for lines the concentrator lacks, code 1 for impossible ones', () => {
    expect(check(cmd({ type: 'switch', lines: [9], on: true }))).toMatchObject({ code: 2 });
    expect(check(cmd({ type: 'switch', lines: [65], on: true }))).toMatchObject({ code: 1 });
    expect(check(cmd({ type: 'switch', lines: [], on: true }))).toMatchObject({ code: 1 });
    expect(check(cmd({ type: 'switch', lines: [1], on: 'yes' }))).toMatchObject({ code: 1 });
    expect(check(cmd({ type: 'params', lines: [{ line: 12 }] }))).toMatchObject({ code: 2 });
  });

  it('checks config ranges and schedule item shapes', () => {
    expect(check(cmd({ type: 'config', report_s: 4 }))).toMatchObject({ code: 1 });
    expect(check(cmd({ type: 'config', heartbeat_s: 601 }))).toMatchObject({ code: 1 });
    const item = { slot: 1, lines: [1], on: true, at: '07:00', days: [1], enabled: true };
    const bad = [
      { ...item, at: '24:00' },
      { ...item, days: [0] },
      { ...item, days: [] },
      { ...item, slot: 25 },
      { ...item, enabled: undefined },
    ];
    for (const b of bad) {
      expect(check(cmd({ type: 'schedules', items: [b] }))).toMatchObject({ ok: false, code: 1 });
    }
    expect(check(cmd({ type: 'schedules', items: [item, item] }))).toMatchObject({ code: 1 });
    const many = Array.from({ length: 25 }, (_, i) => ({ ...item, slot: i + 1 }));
    expect(check(cmd({ type: 'schedules', items: many }))).toMatchObject({ code: 1 });
  });

  it('requires a usable upgrade descriptor', () => {
    const up = {
      type: 'upgrade',
      url: 'http://h/f',
      version: '2',
      sha256: 'A'.repeat(64),
      size: 1,
    };
    expect(check(cmd(up))).toMatchObject({ ok: true, cmd: { sha256: 'a'.repeat(64) } });
    expect(check(cmd({ ...up, url: 'ftp://h/f' }))).toMatchObject({ code: 1 });
    expect(check(cmd({ ...up, sha256: 'abc' }))).toMatchObject({ code: 1 });
    expect(check(cmd({ ...up, size: 0 }))).toMatchObject({ code: 1 });
  });

  it('keeps only known param fields, leaving the others untouched', () => {
    const r = check(cmd({ type: 'params', lines: [{ line: 2, max_temp_c: 70, colour: 'red' }] }));
    expect(r).toEqual({
      ok: true,
      cmd: { type: 'params', id: 'c-1', lines: [{ line: 2, max_temp_c: 70 }] },
    });
  });
});
