import { CommandTimeouts } from '../src/commands/command-timeouts.service';
import { PeriodicJobs } from '../src/jobs/periodic-jobs';
import { MqttProbe } from './support/mqtt-probe';
import { bootTestApp, newSerial, TestApp, waitFor } from './support/test-app';

/** Bounds that keep the service alive under floods and silence. */
describe('limits: bounded buffer, bounded rejection log, offline by silence', () => {
  let t: TestApp;
  let probe: MqttProbe;

  beforeAll(async () => {
    t = await bootTestApp({
      env: {
        // Nothing is flushed during the test: the buffer only fills.
        INGEST_BUFFER_MAX_ROWS: '100',
        INGEST_BATCH_SIZE: '100000',
        INGEST_FLUSH_MS: '60000',
        REJECTIONS_KEEP: '100',
        REJECTIONS_RECORD_PER_S: '10000',
        DEFAULT_REPORT_S: '5',
        OFFLINE_MIN_S: '5',
      },
    });
    probe = await MqttProbe.connect(t.mqttUrl);
  }, 30_000);
  afterAll(async () => {
    await probe?.close();
    await t?.close();
  }, 30_000);

  it('drops telemetry beyond the buffer cap and counts every dropped row', async () => {
    const sn = await t.register();
    const d = t.simulator({ sn, lines: 8 });
    await d.start();
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 30; i++) await d.publishTelemetry(undefined, { ts: now - 100 + i });
    await waitFor(
      async () => (await t.http().get('/health')).body.ingest.received >= 31,
      10_000,
      'all received',
    );
    const { ingest } = (await t.http().get('/health')).body;
    // 12 messages of 8 rows fit under 100; the other 18 are dropped whole.
    expect(ingest.bufferedRows).toBe(96);
    expect(ingest.dropped).toBe(18 * 8);
    const metrics = (await t.http().get('/metrics')).text;
    expect(metrics).toMatch(/bcb_telemetry_rows_dropped_total 144/);
  }, 20_000);

  it('keeps only the newest REJECTIONS_KEEP rejected messages, while counting all of them', async () => {
    const sn = newSerial();
    for (let i = 0; i < 250; i++) await probe.publish(`${t.root}/${sn}/fromdev`, `not json ${i}`);
    await waitFor(
      async () => ((await t.http().get('/health')).body.ingest.rejected.bad_json ?? 0) >= 250,
      20_000,
      'all counted',
    );
    await t.flush();
    await t.app.get(PeriodicJobs).runNow('rejections.trim');
    const [{ n }] = await t.query<{ n: number }>('SELECT count(*)::int AS n FROM rejections');
    expect(n).toBeLessThanOrEqual(100);
    const newest = await t.api().get(`/api/v1/rejections?reason=bad_json&limit=1`).expect(200);
    expect(newest.body.items[0].excerpt).toBe('not json 249');
    expect(newest.body.counts.bad_json).toBe(250);
  }, 40_000);

  it('marks a silent concentrator offline after 3 × report_s and records why', async () => {
    const sn = await t.register();
    const d = t.simulator({ sn });
    await d.start();
    const online = async () => (await t.api().get(`/api/v1/concentrators/${sn}`)).body.online;
    await waitFor(async () => (await online()) === true, 10_000, 'online');
    // Silent, yet connected: no will message, only the clock (15 s of silence, a sweep every 5 s).
    await waitFor(async () => (await online()) === false, 35_000, 'offline by silence');
    // The event row is written after the flag flips, without holding up the sweep.
    let items: { detail: unknown }[] = [];
    await waitFor(
      async () => {
        const r = await t.api().get(`/api/v1/concentrators/${sn}/events?kind=offline`).expect(200);
        items = r.body.items;
        return items.length > 0;
      },
      10_000,
      'offline event',
    );
    expect(items).toHaveLength(1);
    expect(items[0].detail).toMatchObject({ reason: 'silence' });
  }, 70_000);

  it('prunes final commands older than COMMANDS_KEEP_DAYS, keeping pending ones and recent ones', async () => {
    const sn = await t.register();
    const insert = (id: string, state: string, daysAgo: number) =>
      t.query(
        `INSERT INTO commands (id, sn, type, payload, state, actor, created_at)
         VALUES ($1, $2, 'query', '{}', $3, 'test', now() - make_interval(days => $4))`,
        [id, sn, state, daysAgo],
      );
    await insert('q-old-acked', 'acked', 400);
    await insert('q-old-sent', 'sent', 400);
    await insert('q-recent', 'timeout', 3);
    expect(await t.app.get(CommandTimeouts).prune()).toBe(1);
    const left = await t.query<{ id: string }>(
      'SELECT id FROM commands WHERE sn = $1 ORDER BY id',
      [sn],
    );
    expect(left.map((r) => r.id)).toEqual(['q-old-sent', 'q-recent']);
  }, 15_000);
});
