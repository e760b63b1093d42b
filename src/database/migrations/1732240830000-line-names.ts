import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One owner per table: line names move out of `concentrator_lines` (latest
 * values, telemetry's) into `line_names` (the registry's). Existing names are
 * copied; rows that held nothing but a name go, as their values are all
 * empty. Both tables go with their concentrator (ON DELETE CASCADE).
 */
export class LineNames1732240830000 implements MigrationInterface {
  name = 'LineNames1732240830000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE line_names (
        sn text NOT NULL REFERENCES concentrators (sn) ON DELETE CASCADE,
        line smallint NOT NULL CHECK (line BETWEEN 1 AND 64),
        name text NOT NULL,
        PRIMARY KEY (sn, line)
      )`);
    await q.query(`
      INSERT INTO line_names (sn, line, name)
      SELECT sn, line, name FROM concentrator_lines WHERE name IS NOT NULL`);
    await q.query(`
      DELETE FROM concentrator_lines
       WHERE ts IS NULL AND is_on IS NULL AND on_at IS NULL AND name IS NOT NULL`);
    await q.query(`ALTER TABLE concentrator_lines DROP COLUMN name`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE concentrator_lines ADD COLUMN name text`);
    await q.query(`
      INSERT INTO concentrator_lines (sn, line, name)
      SELECT sn, line, name FROM line_names
      ON CONFLICT (sn, line) DO UPDATE SET name = excluded.name`);
    await q.query(`DROP TABLE line_names`);
  }
}
