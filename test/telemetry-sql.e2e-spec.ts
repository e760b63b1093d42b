import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { loadConfig } from '../src/config/app-config';
import { bulkCopy } from '../src/database/bulk-copy';
import { DatabaseGate } from '../src/database/database-gate';
import { dataSourceOptions, probeConfig } from '../src/database/data-source-options';
import { SqlRunner } from '../src/database/sql-runner';
import { IngestStats } from '../src/ingestion/ingest-stats';
import type { TelemetryLine } from '../src/protocol/device-messages';
import { TelemetryBatch } from '../src/telemetry/telemetry-batch';
import { TelemetryWriter } from '../src/telemetry/telemetry-writer.service';
import {
  bucketedTelemetrySql,
  COPY_TELEMETRY_BATCH,
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

  /** Every column of a serial's rows, compared by the server itself (exact floats and times). */
  async function differences(a: string, b: string): Promise<number> {
    const cols = ['line', 'ts', 'received_at', 'is_on', ...MEASUREMENTS].join(', ');
    const [{ n }] = await ds.query(
      `SELECT count(*)::int AS n FROM (
         (SELECT ${cols} FROM telemetry WHERE sn = $1 EXCEPT ALL SELECT ${cols} FROM telemetry WHERE sn = $2)
         UNION ALL
         (SELECT ${cols} FROM telemetry WHERE sn = $2 EXCEPT ALL SELECT ${cols} FROM telemetry WHERE sn = $1)
       ) d`,
      [a, b],
    );
    return n as number;
  }

  it('COPY stores exactly what the INSERT path stores: NULLs, float rounding, times to the microsecond', async () => {
    const bySql = '202005010011';
    const byCopy = '202005010012';
    const awkward = [
      0,
      -0,
      0.1,
      1 / 3,
      221.3,
      123456.789,
      3.4e38,
      1e-30,
      -1e-7,
      1e21,
      987654321.1234567,
      Number.MIN_VALUE * 1e300,
      2 ** 53 + 1,
      NaN,
      Infinity,
      -Infinity,
    ];
    const add = (batch: TelemetryBatch, sn: string) => {
      for (let i = 0; i < 40; i++) {
        const lines: TelemetryLine[] = [];
        for (let line = 1; line <= 8; line++) {
          const l: TelemetryLine = { line };
          if ((i + line) % 3 !== 0) l.on = (i + line) % 2 === 0;
          MEASUREMENTS.forEach((m, k) => {
            if ((i * 7 + line + k) % 5 !== 0)
              l[m] = awkward[(i * 3 + line * 5 + k) % awkward.length];
          });
          lines.push(l);
        }
        // Milliseconds, a fraction of one, a day boundary (another partition), the default partition.
        const ts = [
          t0 + 86_400_000 + i * 1001,
          t0 - 36_000_000 - i + 0.25,
          t0 + 50 * 86_400_000 + i,
        ][i % 3];
        batch.add(sn, ts, Date.UTC(2026, 10, 20, 11) + i * 7 + 0.5, i, lines);
      }
    };
    const viaInsert = new TelemetryBatch();
    add(viaInsert, bySql);
    const viaCopy = new TelemetryBatch();
    add(viaCopy, byCopy);
    await ds.query(INSERT_TELEMETRY_BATCH, viaInsert.params());
    const pool = (ds.driver as unknown as { master: Pool }).master;
    const copied = await bulkCopy(pool, 30_000, COPY_TELEMETRY_BATCH, viaCopy.copyChunks(37));
    expect(copied).toBe(320);
    const count = async (sn: string) =>
      (await ds.query(`SELECT count(*)::int AS n FROM telemetry WHERE sn = $1`, [sn]))[0].n;
    expect(await count(bySql)).toBe(320);
    expect(await count(byCopy)).toBe(320);
    expect(await differences(bySql, byCopy)).toBe(0);
    // The comparison itself sees a difference where there is one.
    await ds.query(
      `UPDATE telemetry SET voltage_v = voltage_v + 1 WHERE sn = $1 AND voltage_v IS NOT NULL AND voltage_v < 1000
        AND ctid = (SELECT ctid FROM telemetry WHERE sn = $1 AND voltage_v IS NOT NULL AND voltage_v < 1000 LIMIT 1)`,
      [byCopy],
    );
    expect(await differences(bySql, byCopy)).toBe(2);
  }, 20_000);

  it('a COPY that meets a duplicate stores nothing and leaves the pool usable', async () => {
    const sn2 = '202005010013';
    const pool = (ds.driver as unknown as { master: Pool }).master;
    const batch = new TelemetryBatch();
    batch.add(sn2, t0, t0, 1, [{ line: 1 }, { line: 2 }]);
    batch.add(sn2, t0, t0, 2, [{ line: 2 }]);
    await expect(
      bulkCopy(pool, 30_000, COPY_TELEMETRY_BATCH, batch.copyChunks()),
    ).rejects.toMatchObject({
      code: '23505',
    });
    const rows = await ds.query(`SELECT 1 FROM telemetry WHERE sn = $1`, [sn2]);
    expect(rows).toHaveLength(0);
    expect((await ds.query('SELECT 1 AS ok'))[0].ok).toBe(1);
  }, 10_000);

  it('the writer falls back to INSERT … ON CONFLICT for a batch with a duplicate, counts it, and goes on by COPY', async () => {
    const sn3 = '202005010014';
    await ds.query(
      `INSERT INTO concentrators (sn, state, report_s, heartbeat_s, delta_pct) VALUES ($1, 'managed', 60, 30, 5)`,
      [sn3],
    );
    const config = loadConfig({ DATABASE_URL: db.url, INGEST_MAX_INFLIGHT: '1' });
    const gate = new DatabaseGate(probeConfig(db.url, config.database.bounds));
    const stats = new IngestStats();
    const writer = new TelemetryWriter(new SqlRunner(ds, config, gate), stats, config, gate);
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const base = t0 + 2 * 3_600_000;
      writer.enqueue(sn3, base, base, 1, [
        { line: 1, power_w: 10 },
        { line: 2, power_w: 20 },
      ]);
      await writer.drain();
      expect(stats.snapshot().rows).toMatchObject({ stored: 2, duplicate: 0 });
      expect(stats.copyFallbacks).toBe(0);

      // Line 2 at `base` is stored already; line 3 comes twice in the batch itself.
      writer.enqueue(sn3, base, base + 10, 2, [
        { line: 2, power_w: 99 },
        { line: 3, power_w: 30 },
      ]);
      writer.enqueue(sn3, base, base + 20, 3, [
        { line: 3, power_w: 31 },
        { line: 4, power_w: 40 },
      ]);
      writer.enqueue(sn3, base + 1000, base + 20, 4, [{ line: 1, power_w: 11 }]);
      await writer.drain();
      expect(stats.copyFallbacks).toBe(1);
      expect(stats.snapshot().rows).toMatchObject({ stored: 5, duplicate: 2, dropped: {} });
      expect(writer.duplicates).toBe(2);

      writer.enqueue(sn3, base + 2000, base + 20, 5, [{ line: 1, power_w: 12 }]);
      await writer.drain();
      expect(stats.copyFallbacks).toBe(1);
      expect(stats.snapshot().rows).toMatchObject({ stored: 6, duplicate: 2 });

      const rows = await ds.query(
        `SELECT line, power_w, (extract(epoch FROM ts) * 1000)::float8 AS ts FROM telemetry WHERE sn = $1 ORDER BY ts, line`,
        [sn3],
      );
      expect(rows).toEqual([
        { line: 1, power_w: 10, ts: base },
        // The stored sample wins; the first of two in one batch is kept.
        { line: 2, power_w: 20, ts: base },
        { line: 3, power_w: 30, ts: base },
        { line: 4, power_w: 40, ts: base },
        { line: 1, power_w: 11, ts: base + 1000 },
        { line: 1, power_w: 12, ts: base + 2000 },
      ]);
      expect(logged).not.toHaveBeenCalled();
    } finally {
      logged.mockRestore();
      gate.close();
    }
  }, 20_000);
});
