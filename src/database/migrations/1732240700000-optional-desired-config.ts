import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A concentrator's desired config may be unset: then the backend sends no
 * `config` and the device keeps its own report period. Rows that exist keep
 * the config they have (it was pushed to their devices already).
 */
export class OptionalDesiredConfig1732240700000 implements MigrationInterface {
  name = 'OptionalDesiredConfig1732240700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE concentrators
        ALTER COLUMN report_s DROP NOT NULL,
        ALTER COLUMN heartbeat_s DROP NOT NULL,
        ALTER COLUMN delta_pct DROP NOT NULL,
        ALTER COLUMN config_sync DROP NOT NULL,
        ALTER COLUMN config_sync DROP DEFAULT,
        ADD CONSTRAINT concentrators_config_all_or_none CHECK (
          (report_s IS NULL) = (heartbeat_s IS NULL) AND (report_s IS NULL) = (delta_pct IS NULL)
          AND (report_s IS NOT NULL OR config_sync IS NULL))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE concentrators DROP CONSTRAINT concentrators_config_all_or_none`);
    await q.query(`
      UPDATE concentrators SET report_s = 60, heartbeat_s = 30, delta_pct = 5, config_sync = 'pending'
       WHERE report_s IS NULL`);
    await q.query(`
      ALTER TABLE concentrators
        ALTER COLUMN report_s SET NOT NULL,
        ALTER COLUMN heartbeat_s SET NOT NULL,
        ALTER COLUMN delta_pct SET NOT NULL,
        ALTER COLUMN config_sync SET NOT NULL,
        ALTER COLUMN config_sync SET DEFAULT 'pending'`);
  }
}
