import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Time-of-use tariffs (`tariffs`, rate periods as jsonb) and their
 * assignment to concentrators and sites (`tariff_assignments`, one tariff per
 * serial and per site; gone with their tariff).
 */
export class Tariffs1732240840000 implements MigrationInterface {
  name = 'Tariffs1732240840000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tariffs (
        id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
        name text,
        currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
        tz text NOT NULL,
        rates jsonb NOT NULL CHECK (jsonb_typeof(rates) = 'array'),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        updated_by text NOT NULL
      )`);
    await q.query(`
      CREATE TABLE tariff_assignments (
        kind text NOT NULL CHECK (kind IN ('concentrator', 'site')),
        target text NOT NULL,
        tariff_id text NOT NULL REFERENCES tariffs (id) ON DELETE CASCADE,
        PRIMARY KEY (kind, target)
      )`);
    await q.query(`CREATE INDEX tariff_assignments_tariff ON tariff_assignments (tariff_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE tariff_assignments`);
    await q.query(`DROP TABLE tariffs`);
  }
}
