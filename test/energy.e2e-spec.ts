import { bootTestApp, TestApp, waitFor } from './support/test-app';

const HOUR = 3_600_000;

describe('energy per period and CSV exports (real PostgreSQL)', () => {
  let t: TestApp;
  let sn: string;
  // Local midnight in Asia/Shanghai (UTC+8, no DST) two days ago: every reading
  // below is in the past and within the 7 days a device clock is trusted.
  const dayMs = 24 * HOUR;
  const D = Math.floor((Date.now() + 8 * HOUR) / dayMs) * dayMs - 8 * HOUR - 2 * dayMs;

  beforeAll(async () => {
    t = await bootTestApp();
    sn = await t.register();
    const d = t.simulator({ sn, lines: 2 });
    await d.start();
    const readings: [number, number][] = [
      [D - 0.5 * HOUR, 100], // the day before: anchors the first step
      [D + HOUR / 6, 101],
      [D + 20 * HOUR, 110],
      [D + 25 * HOUR, 112],
      [D + 26 * HOUR, 2], // breaker swapped: counter restarted
      [D + 27 * HOUR, 5],
    ];
    for (const [ms, kwh] of readings) {
      await d.publish({
        type: 'telemetry',
        ts: Math.floor(ms / 1000),
        lines: [
          { line: 1, energy_kwh: kwh, voltage_v: 230 },
          { line: 2, voltage_v: 231 },
        ],
      });
    }
    await waitFor(
      async () =>
        (
          await t.query<{ n: number }>('SELECT count(*)::int AS n FROM telemetry WHERE sn = $1', [
            sn,
          ])
        )[0].n === 12,
      10_000,
      'rows stored',
    );
  }, 40_000);
  afterAll(() => t?.close(), 30_000);

  it('sums kWh per local day, anchored on the reading before the range, across a counter reset', async () => {
    const from = new Date(D).toISOString();
    const to = new Date(D + 2 * dayMs).toISOString();
    const r = await t
      .api()
      .get(`/api/v1/concentrators/${sn}/energy?from=${from}&to=${to}&period=day&tz=Asia/Shanghai`)
      .expect(200);
    expect(r.body).toMatchObject({ sn, period: 'day', tz: 'Asia/Shanghai', totalKwh: 17 });
    expect(r.body.items).toEqual([
      { periodStart: new Date(D).toISOString(), line: 1, kwh: 10, resets: 0, readings: 2 },
      { periodStart: new Date(D + dayMs).toISOString(), line: 1, kwh: 7, resets: 1, readings: 3 },
    ]);
  }, 15_000);

  it('aligns to another zone and to hours', async () => {
    const from = new Date(D).toISOString();
    const to = new Date(D + 2 * dayMs).toISOString();
    const utc = await t
      .api()
      .get(`/api/v1/concentrators/${sn}/energy?line=1&from=${from}&to=${to}&period=day&tz=UTC`)
      .expect(200);
    // UTC midnight is 08:00 in Shanghai: D+20h local falls on the next UTC day.
    expect(utc.body.items.map((i: { kwh: number }) => i.kwh)).toEqual([1, 16]);
    const hourly = await t
      .api()
      .get(`/api/v1/concentrators/${sn}/energy?from=${from}&to=${to}&period=hour`)
      .expect(200);
    expect(hourly.body.items).toHaveLength(5);
    expect(hourly.body.totalKwh).toBe(17);
  }, 15_000);

  it('refuses a bad time zone or period', async () => {
    await t.api().get(`/api/v1/concentrators/${sn}/energy?tz=Mars/Olympus`).expect(400);
    await t.api().get(`/api/v1/concentrators/${sn}/energy?period=week`).expect(400);
  }, 15_000);

  it('answers CSV for Accept: text/csv on energy and telemetry', async () => {
    const from = new Date(D).toISOString();
    const to = new Date(D + 2 * dayMs).toISOString();
    const e = await t
      .api()
      .get(`/api/v1/concentrators/${sn}/energy?from=${from}&to=${to}&tz=Asia/Shanghai`)
      .set('Accept', 'text/csv')
      .expect(200);
    expect(e.headers['content-type']).toMatch(/^text\/csv/);
    expect(e.text.split('\r\n')).toEqual([
      'periodStart,line,kwh,resets,readings',
      `${new Date(D).toISOString()},1,10,0,2`,
      `${new Date(D + dayMs).toISOString()},1,7,1,3`,
      '',
    ]);
    const raw = await t
      .api()
      .get(`/api/v1/concentrators/${sn}/telemetry?line=2&from=${from}&to=${to}&fields=voltageV`)
      .set('Accept', 'text/csv')
      .expect(200);
    const lines = raw.text.trim().split('\r\n');
    expect(lines[0]).toBe('ts,receivedAt,line,on,voltageV');
    expect(lines).toHaveLength(6);
    expect(lines[1]).toMatch(/^[0-9T:.-]+Z,[0-9T:.-]+Z,2,,231$/);
    const bucketed = await t
      .api()
      .get(`/api/v1/concentrators/${sn}/telemetry?bucket=1d&fields=voltageV&from=${from}&to=${to}`)
      .set('Accept', 'text/csv')
      .expect(200);
    expect(bucketed.text.split('\r\n')[0]).toBe(
      'bucket,line,samples,voltageV_min,voltageV_avg,voltageV_max',
    );
  }, 15_000);
});
