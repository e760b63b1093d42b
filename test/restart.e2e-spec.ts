import {
  bootTestApp,
  createTestDatabase,
  newSerial,
  TestApp,
  TestDatabase,
  waitFor,
} from './support/test-app';

describe('restart', () => {
  let db: TestDatabase;
  let t: TestApp | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
  }, 15_000);
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  }, 30_000);

  it('keeps registry, telemetry and latest state across a restart, and flushes buffered rows on close', async () => {
    const root = `e2e${Date.now().toString(36)}/devs`;
    // A long flush interval: the rows are still buffered when the app closes.
    t = await bootTestApp({
      db,
      root,
      env: { INGEST_FLUSH_MS: '60000', LATEST_FLUSH_MS: '60000' },
    });
    const sn = newSerial();
    await t.api().post('/api/v1/concentrators').send({ sn, name: 'Boiler room' }).expect(201);
    // Owned by the app, so a failure before d.stop() still ends its connection in close().
    const d = t.simulator({ sn, lines: 3 });
    await d.start();
    const ts = Math.floor(Date.now() / 1000) - 30;
    await d.publish({
      type: 'telemetry',
      ts,
      lines: [1, 2, 3].map((line) => ({ line, voltage_v: 229 + line })),
    });
    await waitFor(
      async () => (await t!.http().get('/health')).body.ingest.bufferedRows === 3,
      10_000,
      'buffered',
    );
    await d.stop();
    await t.close();

    t = await bootTestApp({ db, root });
    const rows = await t.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM telemetry WHERE sn = $1',
      [sn],
    );
    expect(rows[0].n).toBe(3);
    const c = await t.api().get(`/api/v1/concentrators/${sn}`).expect(200);
    expect(c.body).toMatchObject({ sn, state: 'managed', name: 'Boiler room' });
    const latest = await t.api().get(`/api/v1/concentrators/${sn}/latest`).expect(200);
    expect(latest.body.lines.map((l: { voltageV: number }) => l.voltageV)).toEqual([230, 231, 232]);
    const migrations = await t.query<{ n: number }>('SELECT count(*)::int AS n FROM migrations');
    expect(migrations[0].n).toBeGreaterThan(0);
  }, 60_000);
});
