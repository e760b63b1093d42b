import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../src/database/data-source-options';
import { TelemetryBatch } from '../src/telemetry/telemetry-batch';
import {
  bucketedTelemetrySql,
  ENSURE_PARTITIONS,
  INSERT_TELEMETRY_BATCH,
  UPSERT_LATEST_BATCH,
} from '../src/telemetry/telemetry.sql';
import { MEASUREMENTS } from '../src/protocol/measurements';
import { createTestDatabase, TestDatabase } from './support/test-app';

/** The hot-path SQL, run against a real PostgreSQL with the real migrations. */
describe('telemetry SQL', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const sn = '202005010001';
  const t0 = Date.UTC(2026, 10, 20, 10, 0, 0);

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await new DataSource(dataSourceOptions({ url: db.url })).initialize();
    await ds.query(
      `INSERT INTO concentrators (sn, state, report_s, heartbeat_s, delta_pct) VALUES ($1, 'managed', 60, 30, 5)`,
      [sn],
    );
  }, 30_000);
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  }, 15_000);

  it('creates daily partitions once and routes rows to them', async () => {
    const [first] = await ds.query(ENSURE_PARTITIONS, ['2026-11-19', '2026-11-21']);
    expect(Number(first.created)).toBe(3);
    const [again] = await ds.query(ENSURE_PARTITIONS, ['2026-11-19', '2026-11-21']);
    expect(Number(again.created)).toBe(0);
    const batch = new TelemetryBatch();
    batch.add(sn, t0, t0 + 500, 1, [{ line: 1, voltage_v: 230 }]);
    await ds.query(INSERT_TELEMETRY_BATCH, batch.params());
    const [row] = await ds.query(
      `SELECT tableoid::regclass::text AS part FROM telemetry WHERE sn = $1 AND ts = to_timestamp($2 / 1000.0)`,
      [sn, t0],
    );
    expect(row.part).toBe('telemetry_20261120');
  }, 10_000);

  it('inserts a batch in one statement, skipping duplicates inside it and against stored rows', async () => {
    const batch = new TelemetryBatch();
    const lines = [
      { line: 2, on: true, voltage_v: 221.3, current_a: 3.21, energy_kwh: 1234.56, pf: 0.98 },
      { line: 3, on: false },
    ];
    batch.add(sn, t0 + 60_000, t0 + 60_500, 2, lines);
    batch.add(sn, t0 + 60_000, t0 + 60_600, 3, lines);
    const res = await ds.query(INSERT_TELEMETRY_BATCH, batch.params());
    expect(res).toEqual([]);
    const rows = await ds.query(
      `SELECT line, is_on, voltage_v, current_a, energy_kwh, pf, temp_c FROM telemetry
        WHERE sn = $1 AND ts = to_timestamp($2 / 1000.0) ORDER BY line`,
      [sn, t0 + 60_000],
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ line: 2, is_on: true, energy_kwh: 1234.56, temp_c: null });
    expect(rows[0].voltage_v).toBeCloseTo(221.3, 4);
    expect(rows[1]).toMatchObject({ line: 3, is_on: false, voltage_v: null });
  }, 10_000);

  it('aggregates min/avg/max per bucket and line', async () => {
    const batch = new TelemetryBatch();
    for (let i = 0; i < 10; i++) {
      batch.add(sn, t0 + 3_600_000 + i * 60_000, t0, i, [{ line: 5, power_w: 100 * (i + 1) }]);
    }
    await ds.query(INSERT_TELEMETRY_BATCH, batch.params());
    const from = new Date(t0 + 3_600_000);
    const to = new Date(t0 + 7_200_000);
    const rows = await ds.query(bucketedTelemetrySql('5m', ['power_w']), [sn, from, to, 5, 100]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ line: 5, samples: 5, power_w_min: 100, power_w_max: 500 });
    expect(rows[0].power_w_avg).toBeCloseTo(300, 6);
    expect(rows[1]).toMatchObject({ samples: 5, power_w_min: 600, power_w_max: 1000 });
    expect(new Date(rows[1].bucket).getTime() - new Date(rows[0].bucket).getTime()).toBe(300_000);
  }, 10_000);

  it('upserts latest state guarded by device time', async () => {
    const upsert = (
      tsMs: number | null,
      voltage: number | null,
      on: boolean | null,
      onAt: number | null,
    ) =>
      ds.query(UPSERT_LATEST_BATCH, [
        [sn],
        [7],
        [tsMs],
        [tsMs],
        ...MEASUREMENTS.map((m) => [m === 'voltage_v' ? voltage : null]),
        [on],
        [onAt],
        [on === null ? null : 'remote_on'],
      ]);
    const read = async () =>
      (
        await ds.query(
          `SELECT voltage_v, is_on, ts, on_at FROM concentrator_lines WHERE sn = $1 AND line = 7`,
          [sn],
        )
      )[0];
    await upsert(t0 + 10_000, 230, true, t0 + 10_000);
    await upsert(t0 + 5_000, 200, false, t0 + 5_000); // older: ignored
    expect(await read()).toMatchObject({ voltage_v: 230, is_on: true });
    await upsert(null, null, false, t0 + 20_000); // a status alone changes only the switch
    expect(await read()).toMatchObject({ voltage_v: 230, is_on: false });
    await upsert(t0 + 30_000, 240, null, null); // values alone keep the switch state
    const last = await read();
    expect(last).toMatchObject({ voltage_v: 240, is_on: false });
    expect(new Date(last.ts).getTime()).toBe(t0 + 30_000);
  }, 10_000);

  it('skips latest rows of a concentrator deleted meanwhile', async () => {
    await ds.query(UPSERT_LATEST_BATCH, [
      ['999999999999'],
      [1],
      [t0],
      [t0],
      ...MEASUREMENTS.map(() => [1]),
      [true],
      [t0],
      ['power_on'],
    ]);
    const rows = await ds.query(`SELECT 1 FROM concentrator_lines WHERE sn = '999999999999'`);
    expect(rows).toHaveLength(0);
  }, 10_000);
});
