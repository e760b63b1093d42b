import { SimulatedConcentrator } from '../tools/simulator/concentrator';
import { LatestStore } from '../src/telemetry/latest-store.service';
import { applySwitch, SwitchFields } from '../src/telemetry/switch-state';
import { UPSERT_LATEST_BATCH } from '../src/telemetry/telemetry.sql';
import { MEASUREMENTS } from '../src/protocol/measurements';
import { SseReader } from './support/sse-reader';
import {
  ADMIN_TOKEN,
  bootTestApp,
  createTestDatabase,
  TestApp,
  TestDatabase,
  waitFor,
} from './support/test-app';

const HOUR = 3_600_000;
const CHROME =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7';
const PROMETHEUS =
  'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';
/** More digits after the point than any value in these tests has: float noise. */
const NOISE = /\d\.\d{9,}/;

interface LineView {
  line: number;
  on: boolean | null;
  onAt: string | null;
  onCause: string | null;
  ts: string | null;
  voltageV?: number | null;
}

describe('presentation: readable numbers, switch state, CSV and 406 (real PostgreSQL)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let sn: string;
  let d: SimulatedConcentrator;
  // Whole hours in the past, inside the 7 days a device clock is trusted.
  const H = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
  const sec = (ms: number) => Math.floor(ms / 1000);
  const iso = (ms: number) => new Date(ms).toISOString();
  const rowCount = async () =>
    (
      await t.query<{ n: number }>('SELECT count(*)::int AS n FROM telemetry WHERE sn = $1', [sn])
    )[0].n;
  const latestLine = async (line: number): Promise<LineView | undefined> => {
    const r = await t.api().get(`/api/v1/concentrators/${sn}/latest`).expect(200);
    return (r.body.lines as LineView[]).find((l) => l.line === line);
  };
  const tableLine = async (line: number) =>
    (
      await t.query<{ is_on: boolean; on_at: Date; on_cause: string | null }>(
        'SELECT is_on, on_at, on_cause FROM concentrator_lines WHERE sn = $1 AND line = $2',
        [sn, line],
      )
    )[0];

  beforeAll(async () => {
    db = await createTestDatabase();
    t = await bootTestApp({ db });
    sn = await t.register();
    d = t.simulator({ sn, lines: 3 });
    await d.start();
  }, 30_000);
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  }, 30_000);

  it('shows bucket aggregates without float noise, the same in JSON and CSV', async () => {
    const samples = [
      { voltage_v: 229.6, pf: 0.91, energy_kwh: 1234.56 },
      { voltage_v: 229.7, pf: 0.92, energy_kwh: 1234.57 },
      { voltage_v: 229.65, pf: 0.91, energy_kwh: 1234.58 },
    ];
    for (const [i, s] of samples.entries()) {
      await d.publish({
        type: 'telemetry',
        ts: sec(H + (i + 1) * 60_000),
        lines: [{ line: 1, ...s }],
      });
    }
    await waitFor(async () => (await rowCount()) === 3, 5000, 'rows stored');
    const q = `bucket=1h&line=1&fields=voltageV,pf,energyKwh&from=${iso(H)}&to=${iso(H + HOUR)}`;
    const json = await t.api().get(`/api/v1/concentrators/${sn}/telemetry?${q}`).expect(200);
    expect(json.body.items).toEqual([
      {
        bucket: iso(H),
        line: 1,
        samples: 3,
        voltageV: { min: 229.6, avg: 229.65, max: 229.7 },
        // The stored REALs are 0.91000003, 0.92000002, 0.91000003: their mean to 7 digits.
        pf: { min: 0.91, avg: 0.9133334, max: 0.92 },
        energyKwh: { min: 1234.56, avg: 1234.57, max: 1234.58 },
      },
    ]);
    expect(json.text).not.toMatch(NOISE);
    const csv = await t
      .api()
      .get(`/api/v1/concentrators/${sn}/telemetry?${q}`)
      .set('Accept', 'text/csv')
      .expect(200);
    expect(csv.text.split('\r\n')).toEqual([
      'bucket,line,samples,voltageV_min,voltageV_avg,voltageV_max,pf_min,pf_avg,pf_max,energyKwh_min,energyKwh_avg,energyKwh_max',
      `${iso(H)},1,3,229.6,229.65,229.7,0.91,0.9133334,0.92,1234.56,1234.57,1234.58`,
      '',
    ]);
  }, 30_000);

  it('shows energy without float noise, per period and averaged', async () => {
    // Steps of 0.1 and 0.3 kWh between float8 readings: 0.4000000000000057 unrounded.
    const readings = [100.1, 100.2, 100.5];
    for (const [i, kwh] of readings.entries()) {
      await d.publish({
        type: 'telemetry',
        ts: sec(H + HOUR + (i + 1) * 60_000),
        lines: [{ line: 3, energy_kwh: kwh }],
      });
    }
    await waitFor(async () => (await rowCount()) === 6, 5000, 'rows stored');
    const range = `line=3&from=${iso(H + HOUR)}&to=${iso(H + 2 * HOUR)}`;
    const e = await t
      .api()
      .get(`/api/v1/concentrators/${sn}/energy?${range}&period=hour`)
      .expect(200);
    expect(e.body.items).toEqual([
      { periodStart: iso(H + HOUR), line: 3, kwh: 0.4, resets: 0, readings: 3 },
    ]);
    expect(e.body.totalKwh).toBe(0.4);
    const ecsv = await t
      .api()
      .get(`/api/v1/concentrators/${sn}/energy?${range}&period=hour`)
      .set('Accept', 'text/csv')
      .expect(200);
    expect(ecsv.text.split('\r\n')[1]).toBe(`${iso(H + HOUR)},3,0.4,0,3`);
    // (100.1 + 100.2 + 100.5) / 3 in float8 is 100.26666666666667; 6 decimals of kWh.
    const b = await t
      .api()
      .get(`/api/v1/concentrators/${sn}/telemetry?bucket=1h&fields=energyKwh&${range}`)
      .expect(200);
    expect(b.body.items[0].energyKwh).toEqual({ min: 100.1, avg: 100.266667, max: 100.5 });
  }, 30_000);

  it('keeps onAt/onCause of a line switched off by status while telemetry repeats the state', async () => {
    const now = Date.now();
    const onSince = sec(now - 20 * 60_000);
    const offAt = sec(now - 10 * 60_000);
    await d.publish({ type: 'telemetry', ts: onSince, lines: [{ line: 2, on: true }] });
    await d.publish({
      type: 'status',
      ts: offAt,
      lines: [{ line: 2, on: false, cause: 'leakage' }],
    });
    const repeats = [30, 60, 90].map((s) => offAt + s);
    for (const ts of repeats) {
      await d.publish({ type: 'telemetry', ts, lines: [{ line: 2, on: false, voltage_v: 0 }] });
    }
    const last = iso(repeats[2] * 1000);
    await waitFor(async () => (await latestLine(2))?.ts === last, 5000, 'last telemetry applied');

    const expected = { on: false, onAt: iso(offAt * 1000), onCause: 'leakage' };
    const mem = t.app
      .get(LatestStore)
      .linesOf(sn)
      .find((l) => l.line === 2);
    expect(mem).toMatchObject({ isOn: false, onAtMs: offAt * 1000, onCause: 'leakage' });
    expect(await latestLine(2)).toMatchObject(expected);

    await t.flush();
    expect(await tableLine(2)).toEqual({
      is_on: false,
      on_at: new Date(offAt * 1000),
      on_cause: 'leakage',
    });
    expect(await latestLine(2)).toMatchObject(expected);
  }, 30_000);

  it('shows a value still in memory with the digits the REAL column will give back', async () => {
    await d.publish({ type: 'telemetry', lines: [{ line: 3, voltage_v: 221.123456789 }] });
    await waitFor(async () => (await latestLine(3))?.voltageV != null, 5000, 'line 3 applied');
    expect((await latestLine(3))?.voltageV).toBe(221.12346);
    await t.flush();
    const [row] = await t.query<{ voltage_v: number }>(
      'SELECT voltage_v FROM concentrator_lines WHERE sn = $1 AND line = 3',
      [sn],
    );
    expect(row.voltage_v).toBe(221.12346);
    expect((await latestLine(3))?.voltageV).toBe(221.12346);
  }, 30_000);

  it('exports /latest of one concentrator and of the fleet as CSV', async () => {
    const header =
      'sn,name,site,online,lastSeenAt,clockSkew,line,lineName,ts,receivedAt,on,onAt,onCause,' +
      'voltageV,currentA,powerW,reactiveVar,pf,freqHz,energyKwh,leakageMa,tempC';
    const one = await t
      .api()
      .get(`/api/v1/concentrators/${sn}/latest`)
      .set('Accept', 'text/csv')
      .expect(200);
    expect(one.headers['content-type']).toMatch(/^text\/csv/);
    expect(one.headers['content-disposition']).toBe(`attachment; filename="${sn}-latest.csv"`);
    const rows = one.text.split('\r\n');
    expect(rows[0]).toBe(header);
    expect(rows).toHaveLength(5); // header, lines 1-3, final CRLF
    const line2 = await latestLine(2);
    expect(rows[2]).toBe(
      `${sn},dev ${sn},,true,${rows[2].split(',')[4]},false,2,,${line2?.ts},` +
        `${rows[2].split(',')[9]},false,${line2?.onAt},leakage,0,,,,,,,,`,
    );
    expect(one.text).not.toMatch(NOISE);

    const idle = await t.register(undefined, { site: 'presentation-site' });
    await t.register(undefined, { site: 'presentation-other' });
    const fleet = await t
      .api()
      .get('/api/v1/latest?limit=10')
      .set('Accept', 'text/csv')
      .expect(200);
    expect(fleet.headers['content-type']).toMatch(/^text\/csv/);
    expect(fleet.headers['x-total-count']).toBe('3');
    const frows = fleet.text.trim().split('\r\n');
    expect(frows[0]).toBe(header);
    expect(frows.filter((r) => r.startsWith(`${sn},`))).toHaveLength(3);
    // A concentrator without lines yet is still listed, with empty line columns.
    expect(frows).toContain(`${idle},dev ${idle},presentation-site,false,,false${','.repeat(16)}`);
    const json = await t.api().get('/api/v1/latest?site=presentation-site').expect(200);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(json.body.total).toBe(1);
  }, 30_000);

  it('answers 406 where no CSV exists, and JSON to wildcards, browsers and no Accept', async () => {
    const refused = await t
      .api()
      .get('/api/v1/concentrators')
      .set('Accept', 'text/csv')
      .expect(406);
    expect(refused.body).toEqual({
      statusCode: 406,
      error: 'Not Acceptable',
      message: expect.stringContaining('application/json'),
    });
    for (const accept of ['*/*', 'application/*', CHROME, 'application/json']) {
      const r = await t.api().get('/api/v1/concentrators').set('Accept', accept).expect(200);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
    }
    await t.api().get('/api/v1/concentrators').expect(200);
    // A CSV route still refuses what it cannot make.
    await t
      .api()
      .get(`/api/v1/concentrators/${sn}/latest`)
      .set('Accept', 'application/xml')
      .expect(406);
    // Authentication is decided first.
    await t.http().get('/api/v1/concentrators').set('Accept', 'text/csv').expect(401);
  }, 30_000);

  it('leaves the routes that produce other types working for their clients', async () => {
    const metrics = await t.http().get('/metrics').set('Accept', PROMETHEUS).expect(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    await t.http().get('/health').set('Accept', '*/*').expect(200);
    await t.http().get('/health').expect(200);
    await t.http().get('/docs/').set('Accept', CHROME).expect(200);
    // An unknown image is 404, not 406: octet-stream is what the route produces.
    await t
      .http()
      .get(`/firmware/${'0'.repeat(64)}`)
      .set('Accept', 'application/octet-stream')
      .expect(404);
    const sse = await SseReader.open(t.app, '/api/v1/stream', ADMIN_TOKEN);
    expect(sse.status).toBe(200);
    expect(sse.headers['content-type']).toMatch(/^text\/event-stream/);
    sse.close();
  }, 30_000);

  it('documents CSV and 406 in the OpenAPI document', async () => {
    const doc = await t.http().get('/docs-json').expect(200);
    for (const path of [
      '/api/v1/concentrators/{sn}/latest',
      '/api/v1/latest',
      '/api/v1/concentrators/{sn}/telemetry',
      '/api/v1/concentrators/{sn}/energy',
    ]) {
      const op = doc.body.paths[path].get;
      expect(Object.keys(op.responses['200'].content)).toEqual(['application/json', 'text/csv']);
      expect(op.responses['406']).toBeDefined();
    }
  }, 30_000);

  it('keeps the table and memory merge in agreement, whatever order flushes come in', async () => {
    // Random observation sequences, applied one upsert at a time (as flushes
    // of several instances would be) and folded by the in-memory rule.
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const causes = [null, 'leakage', 'manual_off', 'remote_on'];
    const T0 = Date.UTC(2026, 0, 1);
    const upsert = (on: boolean, at: number, cause: string | null) =>
      t.query(UPSERT_LATEST_BATCH, [
        [sn],
        [9],
        [null],
        [null],
        ...MEASUREMENTS.map(() => [null]),
        [on],
        [at],
        [cause],
      ]);
    for (let run = 0; run < 60; run++) {
      await t.query('DELETE FROM concentrator_lines WHERE sn = $1 AND line = 9', [sn]);
      const mem: SwitchFields = { isOn: null, onAtMs: null, onCause: null };
      for (let i = 0; i < 4; i++) {
        const on = rnd(2) === 1;
        const at = T0 + rnd(4) * 1000;
        const cause = causes[rnd(causes.length)];
        applySwitch(mem, on, at, cause);
        await upsert(on, at, cause);
      }
      const row = (
        await t.query<{ is_on: boolean; on_at: Date; on_cause: string | null }>(
          'SELECT is_on, on_at, on_cause FROM concentrator_lines WHERE sn = $1 AND line = 9',
          [sn],
        )
      )[0];
      expect({ isOn: row.is_on, onAtMs: row.on_at.getTime(), onCause: row.on_cause }).toEqual(mem);
    }
  }, 60_000);

  it('shows the same switch state after a restart, and telemetry repeating it changes nothing', async () => {
    const before = await latestLine(2);
    const root = t.root;
    await t.close();
    t = await bootTestApp({ db, root });
    expect(await latestLine(2)).toMatchObject({
      on: false,
      onAt: before?.onAt,
      onCause: 'leakage',
    });

    d = t.simulator({ sn, lines: 3 });
    await d.start();
    const ts = sec(Date.now() - 60_000);
    await d.publish({ type: 'telemetry', ts, lines: [{ line: 2, on: false, voltage_v: 0 }] });
    await waitFor(async () => (await latestLine(2))?.ts === iso(ts * 1000), 5000, 'telemetry');
    // This instance learnt "off" only now, from telemetry: the table knows since when.
    expect(await latestLine(2)).toMatchObject({ onAt: before?.onAt, onCause: 'leakage' });
    await t.flush();
    expect(await tableLine(2)).toMatchObject({
      on_at: new Date(before!.onAt!),
      on_cause: 'leakage',
    });
    expect(await latestLine(2)).toMatchObject({ onAt: before?.onAt, onCause: 'leakage' });

    // A real change still moves it.
    await d.publish({ type: 'telemetry', ts: ts + 30, lines: [{ line: 2, on: true }] });
    const changed = { on: true, onAt: iso((ts + 30) * 1000), onCause: null };
    await waitFor(async () => (await latestLine(2))?.on === true, 5000, 'switched on');
    expect(await latestLine(2)).toMatchObject(changed);
    await t.flush();
    expect(await latestLine(2)).toMatchObject(changed);
  }, 60_000);
});
