import { sseFrame } from './sse-frame';

describe('sseFrame', () => {
  it('writes id, event = kind and single-line JSON data, with API names for measurements', () => {
    const f = sseFrame(7, {
      kind: 'telemetry',
      sn: '202005010001',
      at: '2024-11-22T02:00:00.000Z',
      lines: [{ line: 1, on: true, voltage_v: 230.1, energy_kwh: 12, note: 'a\nb' }],
    });
    const [id, event, data, blank, end] = f.split('\n');
    expect([id, event, blank, end]).toEqual(['id: 7', 'event: telemetry', '', '']);
    expect(JSON.parse(data.slice('data: '.length))).toEqual({
      kind: 'telemetry',
      sn: '202005010001',
      at: '2024-11-22T02:00:00.000Z',
      lines: [{ line: 1, on: true, voltageV: 230.1, energyKwh: 12, note: 'a\nb' }],
    });
  });

  it('passes other kinds through unchanged', () => {
    const e = {
      kind: 'connectivity' as const,
      sn: '202005010001',
      at: 'x',
      online: false,
      reason: 'will',
    };
    expect(sseFrame(1, e)).toBe(`id: 1\nevent: connectivity\ndata: ${JSON.stringify(e)}\n\n`);
  });
});
