import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { loadConfig } from '../src/config/app-config';
import { dataSourceOptions } from '../src/database/data-source-options';
import { SqlRunner } from '../src/database/sql-runner';
import { PeriodicJobs } from '../src/jobs/periodic-jobs';
import { PartitionMaintenance } from '../src/telemetry/partition-maintenance.service';
import { createTestDatabase, TestDatabase } from './support/test-app';

const DAY = 86_400_000;
const day = (offset: number) => new Date(Date.now() + offset * DAY).toISOString().slice(0, 10);

/** TELEMETRY_KEEP_DAYS on a real PostgreSQL: old days go as whole partitions. */
describe('telemetry retention', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const sn = '202005010001';

  beforeAll(async () => {
    Logger.overrideLogger(['error']);
    db = await createTestDatabase();
    ds = await new DataSource(dataSourceOptions({ url: db.url })).initialize();
    await ds.query(
      `INSERT INTO concentrators (sn, state, report_s, heartbeat_s, delta_pct) VALUES ($1, 'managed', 60, 30, 5)`,
      [sn],
    );
    // Partitions from 40 days back, with one row at noon of each day.
    await ds.query(`SELECT ensure_telemetry_partitions($1::date, $2::date)`, [day(-40), day(1)]);
    await ds.query(
      `INSERT INTO telemetry (sn, line, ts, received_at, voltage_v)
       SELECT $1, 1, d + interval '12 hours', now(), 230
         FROM generate_series($2::date, $3::date, interval '1 day') AS d`,
      [sn, day(-40), day(0)],
    );
  }, 30_000);
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
    Logger.overrideLogger(['error', 'warn', 'log']);
  });

  const maintenance = (keepDays: string) => {
    const config = loadConfig({ DATABASE_URL: db.url, TELEMETRY_KEEP_DAYS: keepDays });
    return new PartitionMaintenance(new SqlRunner(ds, config), new PeriodicJobs(), config);
  };
  const partitions = async () =>
    (
      await ds.query<{ name: string }[]>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'telemetry'::regclass ORDER BY 1`,
      )
    ).map((r) => r.name);

  it('keeps everything with TELEMETRY_KEEP_DAYS=0 (the default)', async () => {
    const before = await partitions();
    expect(await maintenance('0').dropExpired()).toEqual([]);
    expect(await partitions()).toEqual(before);
  });

  it('drops the partitions of days older than the setting whole, and nothing else', async () => {
    const dropped = await maintenance('30').dropExpired();
    const firstKept = day(-30).replace(/-/g, '');
    expect(dropped.length).toBe(10);
    expect(dropped.every((n) => n < `telemetry_${firstKept}`)).toBe(true);
    const left = await partitions();
    expect(left).toContain('telemetry_default');
    expect(left).toContain(`telemetry_${firstKept}`);
    const [{ oldest, rows }] = await ds.query<{ oldest: string; rows: number }[]>(
      `SELECT min(ts)::date::text AS oldest, count(*)::int AS rows FROM telemetry WHERE sn = $1`,
      [sn],
    );
    expect(oldest).toBe(day(-30));
    expect(rows).toBe(31);
    // A second pass finds nothing more to drop.
    expect(await maintenance('30').dropExpired()).toEqual([]);
  });

  it('refuses a setting shorter than the 8 days a device clock may lag', () => {
    expect(() => loadConfig({ DATABASE_URL: db.url, TELEMETRY_KEEP_DAYS: '5' })).toThrow(
      /TELEMETRY_KEEP_DAYS/,
    );
  });
});
