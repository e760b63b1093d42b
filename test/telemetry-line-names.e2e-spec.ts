import { DataSource } from 'typeorm';
import { CLI_BOUNDS } from '../src/config/database-bounds';
import { migrationOptions } from '../src/database/data-source-options';
import { MIGRATIONS } from '../src/database/migrations';
import { LineNames1732240830000 } from '../src/database/migrations/1732240830000-line-names';
import { bootTestApp, createTestDatabase, newSerial, TestApp, waitFor } from './support/test-app';

interface LatestLine {
  line: number;
  name: string | null;
  ts: string | null;
  voltageV?: number | null;
}

/**
 * Line names are the registry's (`line_names`), latest values telemetry's
 * (`concentrator_lines`); the API shows them together as before the split.
 */
describe('line names beside latest values (real PostgreSQL)', () => {
  let t: TestApp;
  const sec = () => Math.floor(Date.now() / 1000);
  const lines = async (sn: string) =>
    (await t.api().get(`/api/v1/concentrators/${sn}/lines`).expect(200)).body as {
      line: number;
      name: string | null;
    }[];
  const latest = async (sn: string) =>
    (await t.api().get(`/api/v1/concentrators/${sn}/latest`).expect(200)).body as {
      lines: LatestLine[];
    };
  const rename = (sn: string, line: number, name: string) =>
    t.api().patch(`/api/v1/concentrators/${sn}/lines/${line}`).send({ name }).expect(200);
  const count = async (table: 'line_names' | 'concentrator_lines', sn: string) =>
    (await t.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE sn = $1`, [sn]))[0]
      .n;

  beforeAll(async () => {
    t = await bootTestApp();
  }, 30_000);
  afterAll(async () => {
    await t?.close();
  }, 30_000);

  it('a line named before it has values is listed by /lines and /latest, empty', async () => {
    const sn = await t.register();
    expect(await lines(sn)).toEqual([]);
    const r = await rename(sn, 2, 'Kitchen');
    expect(r.body).toEqual({ line: 2, name: 'Kitchen' });
    expect(await lines(sn)).toEqual([
      { line: 1, name: null },
      { line: 2, name: 'Kitchen' },
    ]);
    expect((await latest(sn)).lines).toEqual([
      {
        line: 2,
        name: 'Kitchen',
        ts: null,
        receivedAt: null,
        on: null,
        onAt: null,
        onCause: null,
        voltageV: null,
        currentA: null,
        powerW: null,
        reactiveVar: null,
        pf: null,
        freqHz: null,
        energyKwh: null,
        leakageMa: null,
        tempC: null,
      },
    ]);
    expect(await count('line_names', sn)).toBe(1);
    expect(await count('concentrator_lines', sn)).toBe(0);
    await t
      .api()
      .patch(`/api/v1/concentrators/${newSerial()}/lines/1`)
      .send({ name: 'x' })
      .expect(404);
  }, 30_000);

  it('shows names with values per concentrator and in the fleet overview, JSON and CSV', async () => {
    const site = `site-${newSerial()}`;
    const sn = await t.register(undefined, { site });
    const d = t.simulator({ sn, lines: 3, intervalMs: 0 });
    await d.start();
    await waitFor(
      async () => (await t.api().get(`/api/v1/concentrators/${sn}`)).body.lineCount === 3,
      10_000,
      'line count from config_request',
    );
    await rename(sn, 1, 'Oven');
    await rename(sn, 3, 'Heat pump');
    // Line 5 is beyond the reported count: it has values, so /lines lists it too.
    await d.publish({
      type: 'telemetry',
      ts: sec(),
      lines: [
        { line: 1, voltage_v: 230 },
        { line: 2, voltage_v: 231 },
        { line: 5, voltage_v: 232 },
      ],
    });
    await waitFor(async () => (await count('concentrator_lines', sn)) === 3, 10_000, 'flushed');

    expect(await lines(sn)).toEqual([
      { line: 1, name: 'Oven' },
      { line: 2, name: null },
      { line: 3, name: 'Heat pump' },
      { line: 4, name: null },
      { line: 5, name: null },
    ]);
    const view = (await latest(sn)).lines.map((l) => [l.line, l.name, l.voltageV]);
    expect(view).toEqual([
      [1, 'Oven', 230],
      [2, null, 231],
      [3, 'Heat pump', null],
      [5, null, 232],
    ]);
    const fleet = await t.api().get(`/api/v1/latest?site=${site}`).expect(200);
    expect(fleet.body.total).toBe(1);
    expect(
      (fleet.body.items[0].lines as LatestLine[]).map((l) => [l.line, l.name, l.voltageV]),
    ).toEqual(view);

    await rename(sn, 1, 'Oven (new)');
    const csv = await t
      .api()
      .get(`/api/v1/latest?site=${site}`)
      .set('Accept', 'text/csv')
      .expect(200);
    const rows = csv.text.trim().split(/\r?\n/);
    const header = rows[0].split(',');
    const at = (row: string, col: string) => row.split(',')[header.indexOf(col)];
    expect(rows.slice(1).map((r) => [at(r, 'line'), at(r, 'lineName')])).toEqual([
      ['1', 'Oven (new)'],
      ['2', ''],
      ['3', 'Heat pump'],
      ['5', ''],
    ]);
  }, 30_000);

  it('a deleted concentrator takes its names and latest values with it', async () => {
    for (const purge of [false, true]) {
      const sn = await t.register();
      const d = t.simulator({ sn, lines: 2, intervalMs: 0 });
      await d.start();
      await rename(sn, 1, 'Pump');
      await d.publish({ type: 'telemetry', ts: sec(), lines: [{ line: 1, voltage_v: 230 }] });
      await waitFor(async () => (await count('concentrator_lines', sn)) === 1, 10_000, 'flushed');
      await d.stop();
      await t.api().post(`/api/v1/concentrators/${sn}/release`).expect(200);
      await t.api().delete(`/api/v1/concentrators/${sn}?purge=${purge}`).expect(204);
      expect(await count('line_names', sn)).toBe(0);
      expect(await count('concentrator_lines', sn)).toBe(0);

      // Registered again, it starts without names.
      await t.register(sn);
      expect(await lines(sn)).toEqual([]);
    }
  }, 30_000);
});

describe('migration LineNames1732240830000', () => {
  it('moves names into line_names and back', async () => {
    const db = await createTestDatabase();
    const before = MIGRATIONS.indexOf(LineNames1732240830000);
    expect(before).toBeGreaterThan(0);
    const open = async (migrations: unknown[]) => {
      const ds = new DataSource({
        ...migrationOptions(db.url, CLI_BOUNDS),
        migrations: migrations as never,
      });
      await ds.initialize();
      return ds;
    };
    try {
      const old = await open(MIGRATIONS.slice(0, before));
      await old.query(`
        INSERT INTO concentrators (sn, state) VALUES ('202005010001', 'managed'), ('202005010002', 'managed')`);
      await old.query(`
        INSERT INTO concentrator_lines (sn, line, name, ts, voltage_v) VALUES
          ('202005010001', 1, 'Oven', now(), 230),
          ('202005010001', 2, NULL, now(), 231),
          ('202005010001', 3, 'Named only', NULL, NULL),
          ('202005010002', 1, 'Pump', NULL, NULL)`);
      await old.destroy();

      // Up to this migration, so that undoing the last one undoes it.
      const ds = await open(MIGRATIONS.slice(0, before + 1));
      try {
        expect(await ds.query(`SELECT sn, line, name FROM line_names ORDER BY sn, line`)).toEqual([
          { sn: '202005010001', line: 1, name: 'Oven' },
          { sn: '202005010001', line: 3, name: 'Named only' },
          { sn: '202005010002', line: 1, name: 'Pump' },
        ]);
        // Values stay; rows that held only a name are gone with the column.
        expect(
          await ds.query(`SELECT sn, line, voltage_v FROM concentrator_lines ORDER BY sn, line`),
        ).toEqual([
          { sn: '202005010001', line: 1, voltage_v: 230 },
          { sn: '202005010001', line: 2, voltage_v: 231 },
        ]);
        await ds.query(`DELETE FROM concentrators WHERE sn = '202005010002'`);
        expect(await ds.query(`SELECT count(*)::int AS n FROM line_names`)).toEqual([{ n: 2 }]);

        await ds.undoLastMigration({ transaction: 'each' });
        expect(await ds.query(`SELECT to_regclass('line_names') AS t`)).toEqual([{ t: null }]);
        expect(
          await ds.query(`SELECT sn, line, name, voltage_v FROM concentrator_lines ORDER BY line`),
        ).toEqual([
          { sn: '202005010001', line: 1, name: 'Oven', voltage_v: 230 },
          { sn: '202005010001', line: 2, name: null, voltage_v: 231 },
          { sn: '202005010001', line: 3, name: 'Named only', voltage_v: null },
        ]);

        // And up again.
        await ds.runMigrations({ transaction: 'each' });
        expect(await ds.query(`SELECT count(*)::int AS n FROM line_names`)).toEqual([{ n: 2 }]);
      } finally {
        await ds.destroy();
      }
    } finally {
      await db.drop();
    }
  }, 60_000);
});
